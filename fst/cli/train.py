"""`python train.py` / `fst-train`: train one style from a YAML config, show progress, export the network to ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from fst.config import load_config
from fst.copies import made_from
from fst.errors import ConfigError, command_name, exit_with
from fst.metadata import inherited_metadata, metadata_for

if TYPE_CHECKING:
    from fst.trainer import Progress


def main(argv: list[str] | None = None) -> int:
    """`python train.py --config X.yaml [--set key=value ...] [--resume auto|PATH] [--restart]`."""
    parser = argparse.ArgumentParser(
        prog=command_name("train.py"),
        description="Train a fast style transfer network from a YAML config and export it to ONNX.",
    )
    parser.add_argument("--config", required=True, help="YAML config file, e.g. configs/demo.yaml")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set data.root=/data/coco/train2014 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--resume", metavar="auto|PATH", help="continue from the run's latest checkpoint or a file")
    parser.add_argument("--restart", action="store_true", help="delete <runs_dir>/<name> and train from scratch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, a line per log step (log files)")
    args = parser.parse_args(argv)
    if args.resume and args.restart:
        raise ConfigError("--resume and --restart contradict each other: pick one")

    config = load_config(args.config, args.overrides)
    from fst.export import export_onnx  # PyTorch: loaded once the arguments and the config are checked
    from fst.trainer import Trainer

    trainer = Trainer(config, resume=args.resume, restart=args.restart)
    if not trainer.is_main:  # rank 0 of a torchrun job speaks for all
        trainer.run()
        return 0
    for reason in trainer.skipped_checkpoints:
        print(f"warning: passed over a damaged checkpoint: {reason}")
    if trainer.resumed_from:
        where = f"resuming from {trainer.resumed_from} at step {trainer.step}"
    else:
        where = f"starting from the weights of {trainer.init_from}" if trainer.init_from else "from scratch"
    processes = f" x {trainer.world_size} processes" if trainer.world_size > 1 else ""
    print(
        f"training {config.name!r} on {len(trainer.paths)} photos under {config.data.root}"
        + (f" ({config.data.holdout} held out)" if config.data.holdout else "")
        + f", {trainer.device}{processes}, {where}\n"
        f"precision {trainer.precision} ({trainer.precision_reason}); "
        f"torch.compile {'on' if trainer.compile else 'off'} ({trainer.compile_reason})"
    )
    with tqdm(total=config.train.steps, initial=trainer.step, unit="step", dynamic_ncols=True,
              disable=args.no_progress) as bar:  # fmt: skip
        result = trainer.run(lambda progress: show(progress, bar, args.no_progress))
    onnx_path = Path(config.output.exports_dir) / f"{config.name}.onnx"
    replaced = onnx_path.is_file()
    styles = {"styles": trainer.styles.names, "style_images": trainer.styles.images}  # several: their names
    metadata = metadata_for(config.to_dict() | styles, trainer.step)
    metadata |= inherited_metadata(trainer.init_from, config.style_image)
    export_onnx(trainer.model, onnx_path, metadata)
    if replaced:
        print(f"replaced the earlier {onnx_path}" + stale_copies(onnx_path))
    print(
        f"done: step {result.step}, {result.images_per_second:.1f} images/s; checkpoint {result.checkpoint}; "
        f"ONNX {onnx_path}; samples in {result.run_dir / 'samples'}"
        + (f"; skipped {result.skipped_files} unreadable images" if result.skipped_files else "")
    )
    return 0


def stale_copies(network: Path) -> str:
    """What to say of the int8 copies and fast variants beside a network just replaced: made from the earlier
    one, they are no longer run in its place (fst.copies.made_from), and how to make them anew."""
    int8, fast, fast_int8 = (network.with_name(f"{network.stem}{end}.onnx") for end in ("-int8", "-fast", "-fast-int8"))
    fast_stale = fast.is_file() and not made_from(fast, network)  # and with it, its own int8 copy
    stale = {int8: int8.is_file() and not made_from(int8, network), fast: fast_stale,
             fast_int8: fast_stale and fast_int8.is_file()}  # fmt: skip
    copies = [p.name for p, old in stale.items() if old]
    if not copies:
        return ""
    return (f"; {', '.join(copies)} beside it were made from the earlier network and are no longer used: remake them "
            f"(python -m fst.export {network} -o NAME-int8.onnx --int8; distill.py --teacher {network})")  # fmt: skip


def show(progress: Progress, bar: tqdm, lines: bool) -> None:
    """One step on the bar; at log steps the losses and speed, as a line of their own when there is no bar."""
    for name in progress.skipped:
        tqdm.write(f"warning: skipped unreadable image {name}")
    bar.update(progress.step - bar.n)
    if progress.losses is None:
        return
    losses = progress.losses
    summary = (
        f"loss {losses['total']:.4g} (content {losses['content']:.3g}, style {losses['style']:.3g}, "
        f"tv {losses['tv']:.3g}" + (f", temporal {losses['temporal']:.3g}" if "temporal" in losses else "")
        + f"), {progress.images_per_second:.1f} img/s"
    )
    bar.set_postfix_str(summary)
    if lines:
        print(f"step {progress.step}/{progress.steps} {summary}, eta {progress.eta_seconds / 60:.1f} min", flush=True)


def cli() -> None:
    """Console-script entry point (`fst-train`), also what train.py calls."""
    exit_with(main)
