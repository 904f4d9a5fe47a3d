"""`python train.py` / `fst-train`: train one style from a YAML config, show progress, export the network to ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from fst.catalogue import ModelName, init_model, made_from
from fst.config import load_config
from fst.errors import ConfigError, command_name, exit_with
from fst.metadata import inherited_metadata, metadata_for

if TYPE_CHECKING:
    from fst.trainer import Progress


def parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python train.py --config X.yaml [--set key=value ...] [--resume auto|PATH] [--restart]`."""
    args = parser().parse_args(argv)
    if args.resume and args.restart:
        raise ConfigError("--resume and --restart contradict each other: pick one")

    config = load_config(args.config, args.overrides)
    init_model(config.train.init, Path(config.output.exports_dir), str(args.config))  # the model it names is there
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
        init_from = getattr(trainer.objective, "init_from", None)
        where = f"starting from the weights of {init_from}" if init_from else "from scratch"
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
    # several styles: their names
    metadata = metadata_for(config.to_dict() | trainer.objective.checkpoint_fields(), trainer.step)
    if config.model.architecture == "decoder":
        from fst.export_arbitrary import export_arbitrary

        export_arbitrary(trainer.model, config.loss.vgg_weights, onnx_path, metadata)
    else:
        metadata |= inherited_metadata(trainer.objective.init_from, config.style_image)
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
    """What to say of the copies beside a network just replaced (ModelName.copies): made from the earlier one, or
    from a copy that was, they are no longer run in its place (fst.catalogue.made_from), and how to make them anew."""
    stale: set[ModelName] = set()
    for copy in ModelName.parse(network).copies():  # sources come before the copies made from them
        source = copy.source
        path, made_of = network.with_name(copy.file), network.with_name(source.file)
        if path.is_file() and (source in stale or not made_from(path, made_of)):
            stale.add(copy)
    copies = [copy.file for copy in ModelName.parse(network).copies() if copy in stale]
    if not copies:
        return ""
    return (f"; {', '.join(copies)} beside it were made from the earlier network and are no longer used: remake them "
            f"(python export.py {network} -o NAME-int8.onnx --int8; distill.py --teacher {network})")  # fmt: skip


def show(progress: Progress, bar: tqdm, lines: bool) -> None:
    """One step on the bar; at log steps the losses and speed, as a line of their own when there is no bar."""
    for name in progress.skipped:
        tqdm.write(f"warning: skipped unreadable image {name}")
    bar.update(progress.step - bar.n)
    if progress.losses is None:
        return
    terms = ", ".join(f"{name} {value:.3g}" for name, value in progress.losses.items() if name != "total")
    summary = f"loss {progress.losses['total']:.4g} ({terms}), {progress.images_per_second:.1f} img/s"
    bar.set_postfix_str(summary)
    if lines:
        print(f"step {progress.step}/{progress.steps} {summary}, eta {progress.eta_seconds / 60:.1f} min", flush=True)


def cli() -> None:
    """Console-script entry point (`fst-train`), also what train.py calls."""
    exit_with(main)
