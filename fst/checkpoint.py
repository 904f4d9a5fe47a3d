"""Training checkpoints: written atomically, pruned to the newest few, loadable without the trainer.

A checkpoint is one torch file holding the step, the resolved config, the network and the optimizer. The run
folder keeps `checkpoints/step_NNNNNNN.pt` files and `last.pt`, a hard link to the newest one.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from fst.architectures import TRANSFORMER_ARCHITECTURES
from fst.errors import ConfigError, FstError
from fst.files import atomic_write, load_torch_file
from fst.onnxfile import digest, layer_weights, proto_metadata, read_onnx
from fst.transformer import TransformerNet


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Flushed to disk before the rename, so even a power cut leaves the previous checkpoint or this one. A failed
    write (the disk full) is a one-line FstError naming the file; the previous checkpoints stay as they were."""
    buffer = io.BytesIO()  # serialized first: torch.save reports a full disk as "enforce fail ... unexpected pos"
    torch.save(state, buffer)
    try:
        with atomic_write(path) as tmp, open(tmp, "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise FstError(f"cannot write the checkpoint {path} ({e.strerror or e})") from None


def save_checkpoint(state: dict[str, Any], run_dir: Path, keep_last: int) -> Path:
    """Save `state` as checkpoints/step_NNNNNNN.pt, point last.pt at it and delete all but the newest keep_last."""
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{state['step']:07d}.pt"
    save_atomic(state, path)
    with atomic_write(run_dir / "last.pt") as tmp:
        try:
            os.link(path, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(path, tmp)
    for old in list_checkpoints(run_dir)[:-keep_last]:
        old.unlink()
    return path


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run's step checkpoints, oldest first."""
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))


def checkpoint_to_resume(run_dir: Path, resume: str | None, skipped: list[str] | None = None) -> Path | None:
    """The checkpoint a run continues from: the newest that loads for "auto" (one damaged by a crash or a full
    disk is passed over for the one before, and noted in `skipped`), the file named, or none; an existing run
    without --resume is an error rather than silently overwritten."""
    existing = list_checkpoints(run_dir)
    if resume == "auto":
        for path in reversed(existing):
            try:
                load_checkpoint(path)
                return path
            except FstError as e:
                if skipped is not None:
                    skipped.append(str(e))
        if existing:
            raise FstError(f"none of the {len(existing)} checkpoints in {run_dir} loads: start over with --restart")
        return None
    if resume is not None:
        return Path(resume)
    if existing:
        raise ConfigError(
            f"{run_dir} already holds a run (last checkpoint {existing[-1].name}): continue it with "
            f"--resume auto, or delete it and start over with --restart"
        )
    return None


RUN_FILES = ("checkpoints", "last.pt", "config.yaml", "samples")  # and TensorBoard's events.out.tfevents.*


def clear_run(run_dir: Path, kind: str) -> None:
    """--restart: delete `run_dir`, but only a folder fst made for a run of `kind` ("training" or "distillation"),
    never a symbolic link, a folder holding anything else, or a run of the other kind. Each refusal is one line."""
    if run_dir.is_symlink():
        raise FstError(f"--restart: {run_dir} is a symbolic link; remove it yourself or pick another run folder")
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise FstError(f"--restart: {run_dir} is a file, not a run folder")
    foreign = sorted(p.name for p in run_dir.iterdir() if p.name not in RUN_FILES and not p.name.startswith("events."))
    if foreign:
        raise FstError(f"--restart: {run_dir} holds {foreign[0]}, which no fst run writes; delete it yourself or pick "
                       "another run folder")  # fmt: skip
    newest = list_checkpoints(run_dir)
    if newest:
        found = "distillation" if "distill" in load_checkpoint(newest[-1]) else "training"
        if found != kind:
            raise FstError(f"--restart: {run_dir} holds a {found} run, not a {kind}; pick another run folder")
    shutil.rmtree(run_dir)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FstError(f"checkpoint not found: {path}")
    state = load_torch_file(path, f"{path} is not an fst checkpoint")
    missing = [k for k in ("step", "config", "model") if not isinstance(state, dict) or k not in state]
    if missing:
        raise FstError(f"{path} is not an fst checkpoint: it lacks {', '.join(missing)}")
    return state


def network_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The network's weights from a training checkpoint (.pt) or an exported fp32 model (.onnx).

    From ONNX they are read by position, not by name: the exporter may merge equal initializers (a fresh
    network's instance norms all hold ones and zeros) or rename them, but its Conv and InstanceNormalization
    nodes come in the order of the network's layers. So a shipped .onnx is also a starting point for fine-tuning
    (train.init), with no checkpoint to ship beside it.
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        return load_checkpoint(path)["model"]
    return onnx_network_weights(read_onnx(path), path)


def load_network(path: str | Path) -> TransformerNet:
    """The trained network in a checkpoint or an fp32 export, in eval mode, built from the arguments its file
    records (a checkpoint's config.model; an export's metadata architecture, width and res_blocks); a file made
    before they were recorded is read by the shape of its weights (network_for)."""
    path = Path(path)
    return onnx_network(read_onnx(path), path) if path.suffix.lower() == ".onnx" else load_model(path)[0]


def onnx_network(proto, path: str | Path) -> TransformerNet:
    """load_network of an fp32 export already read (fst.onnxfile.read_onnx), for a caller that also wants its
    metadata."""
    return network_for(onnx_network_weights(proto, path), path, recorded(proto_metadata(proto))).eval()


def recorded(arguments: dict) -> tuple[str, int, int] | None:
    """(architecture, width, res_blocks) of a transformation network as a config or an export's metadata records
    them; None where they are not all there (files made before) or name another kind of network (a decoder)."""
    architecture = arguments.get("architecture", "johnson")
    try:
        width, blocks = int(arguments["width"]), int(arguments["res_blocks"])
    except (KeyError, TypeError, ValueError):
        return None
    return (architecture, width, blocks) if architecture in TRANSFORMER_ARCHITECTURES else None


def onnx_network_weights(proto, path: str | Path) -> dict[str, torch.Tensor]:
    """network_weights of an export already read (fst.onnxfile.read_onnx), for a caller that also wants its
    metadata."""
    props = proto_metadata(proto)
    if props.get("precision", "fp32") != "fp32":
        raise FstError(
            f"{path} is an {props['precision']} export, which does not hold the fp32 weights: use the fp32 model or a "
            "checkpoint"
        )
    layers = layer_weights(proto)
    convs = [weights for op, weights in layers if op == "Conv"]
    if len(convs) < 6 or len(convs) % 2 or not convs[0]:
        raise FstError(f"{path} holds no fst transformation network")
    styles = layers[0][1][0].shape[0] if layers[0][0] == "MatMul" else 1  # the style table's rows
    arguments = recorded(props)
    if arguments is None:  # made before exports recorded them: a grouped (depthwise) convolution marks the
        # realtime architecture, 5 convolutions besides 4 per block; the johnson one has 6 besides 2 per block
        grouped = any(a.name == "group" and a.i > 1 for n in proto.graph.node if n.op_type == "Conv"
                      for a in n.attribute)  # fmt: skip
        blocks = (len(convs) - 5) // 4 if grouped else (len(convs) - 6) // 2
        arguments = ("realtime" if grouped else "johnson", convs[0][0].shape[0], blocks)
    architecture, width, blocks = arguments
    skeleton = TransformerNet(width, blocks, architecture, styles)
    names = [name for name, _ in skeleton.state_dict().items()]
    arrays = [w for _, weights in layers for w in weights]
    if len(arrays) != len(names):
        raise FstError(f"{path} holds no fst transformation network")
    return {name: torch.from_numpy(array.copy()) for name, array in zip(names, arrays)}


def network_for(
    weights: dict[str, torch.Tensor], path: str | Path, arguments: tuple[str, int, int] | None = None
) -> TransformerNet:
    """A TransformerNet holding `weights`, built from its recorded `arguments` (architecture, width, res_blocks:
    fst.checkpoint.recorded), or for files made before, of the shape the weights have: the realtime architecture's
    first layer (net.0) folds pixels and has no weights; width from the first convolution, blocks counted. Styles
    from norm_table's rows."""
    if arguments is not None:
        architecture, width, res_blocks = arguments
    else:
        architecture = "realtime" if "net.1.1.weight" in weights and "net.0.1.weight" not in weights else "johnson"
        try:
            width = weights["net.1.1.weight" if architecture == "realtime" else "net.0.1.weight"].shape[0]
            res_blocks = len({name.split(".")[1] for name in weights if ".body." in name})
        except KeyError:
            raise FstError(f"{path} holds no fst transformation network") from None
    styles = weights["norm_table"].shape[0] if "norm_table" in weights else 1
    model = TransformerNet(width, res_blocks, architecture, styles)
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        detail = " ".join(str(e).split("\n")[1:]).strip()[:300]
        raise FstError(f"{path} does not fit this version's network ({detail})") from None
    return model


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 of the network's weights as float32, in state_dict order (fst.onnxfile.digest): the same for a
    checkpoint and its fp32 export (fst.onnxfile.onnx_weights_digest reads it without PyTorch), so an int8 copy
    or a distilled variant can name the network it stands in for (its `made_from`), and
    a copy left beside a retrained network is never run in its place (fst.catalogue.made_from)."""
    return digest(t.detach().float().cpu().numpy() for t in model.state_dict().values())


def load_model(path: str | Path) -> tuple[TransformerNet, dict[str, Any]]:
    """The trained network in eval mode, and the checkpoint it came from (config, step, ...)."""
    state = load_checkpoint(path)
    return network_for(state["model"], path, recorded(state["config"].get("model") or {})).eval(), state
