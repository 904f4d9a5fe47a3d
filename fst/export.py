"""ONNX export of a transformation network, verified against PyTorch before anything is written.

The model takes `image`, float32 NCHW RGB in [0, 1], with dynamic batch, height and width, and returns
`stylized` in the same convention. Everything a runtime needs to know is in the model's metadata_props.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import torch

from fst import __version__
from fst.errors import FstError, run_cli
from fst.files import atomic_write
from fst.transformer import TransformerNet

OPSET = 18
MAX_ABS_ERROR = 1e-4
TRACE_SHAPE = (1, 3, 64, 64)
VERIFY_SHAPE = (2, 3, 83, 117)  # batch, height and width all differ from the traced ones
IO_CONVENTION = "input 'image' and output 'stylized': float32 NCHW RGB in [0, 1], any batch, height and width"


def export_onnx(model: TransformerNet, path: str | Path, metadata: dict[str, str]) -> float:
    """Export `model` to `path` and return the max abs error of onnxruntime vs PyTorch on an untraced size.

    The file appears only once it has been verified (written to a temp file, checked, then renamed); an error
    above MAX_ABS_ERROR raises FstError and leaves any previous file at `path` untouched.
    """
    import onnx

    path = Path(path)
    model = model.float().cpu().eval()
    # The exporter logs a warning for each torchvision operator it skips; fst does not use torchvision.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    dim = torch.export.Dim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecations inside torch's own exporter
        program = torch.onnx.export(
            model,
            (torch.rand(TRACE_SHAPE),),
            input_names=["image"],
            output_names=["stylized"],
            dynamic_shapes={"image": {0: dim("batch"), 2: dim("height"), 3: dim("width")}},
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    proto = program.model_proto
    props = {"fst_version": __version__, "io": IO_CONVENTION, **metadata}
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=str(value))
    with atomic_write(path) as tmp:
        onnx.save(proto, tmp)
        error = max_abs_error(model, tmp)
        if not error <= MAX_ABS_ERROR:
            raise FstError(
                f"ONNX export of {path.name} does not match PyTorch: max abs error {error:.3g} on a "
                f"{VERIFY_SHAPE[2]}x{VERIFY_SHAPE[3]} image, allowed {MAX_ABS_ERROR:g}; nothing was written"
            )
    return error


def max_abs_error(model: torch.nn.Module, onnx_path: str | Path) -> float:
    """Largest |onnxruntime - PyTorch| over a fixed random batch of VERIFY_SHAPE."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    images = torch.rand(VERIFY_SHAPE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(images).numpy()
    got = session.run(None, {"image": images.numpy()})[0]
    if got.shape != expected.shape:
        return float("inf")
    return float(abs(got - expected).max())


def metadata_for(config: dict, step: int) -> dict[str, str]:
    """What a runtime elsewhere may want to know about the model, from its training config."""
    return {
        "style": config["name"],
        "style_image": Path(config["style_image"]).name,
        "image_size": str(config["data"]["image_size"]),
        "steps": str(step),
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m fst.export CHECKPOINT -o OUT.onnx`."""
    import argparse

    from fst.checkpoint import load_model

    parser = argparse.ArgumentParser(prog="python -m fst.export", description="Export a checkpoint to ONNX.")
    parser.add_argument("checkpoint", help="training checkpoint, e.g. runs/demo/last.pt")
    parser.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    args = parser.parse_args(argv)
    model, state = load_model(args.checkpoint)
    error = export_onnx(model, args.output, metadata_for(state["config"], state["step"]))
    print(f"wrote {args.output} (onnxruntime vs PyTorch max abs error {error:.2g})")
    return 0


def cli() -> None:
    """Console-script entry point (`fst-export`), also `python -m fst.export`."""
    sys.exit(run_cli(main))


if __name__ == "__main__":
    cli()
