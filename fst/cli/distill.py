"""`python distill.py` / `fst-distill`: train a narrower, faster network to reproduce a trained one, export it."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from fst.architectures import TRANSFORMER_ARCHITECTURES
from fst.catalogue import ModelName, find_model
from fst.config import DISTILL_DEFAULTS
from fst.devices import DEVICE_NAMES, is_device_name
from fst.errors import FstError, UsageError, command_name, exit_with
from fst.files import check_writable

if TYPE_CHECKING:
    from fst.trainer import Progress


def parser() -> argparse.ArgumentParser:
    defaults = DISTILL_DEFAULTS
    parser = argparse.ArgumentParser(
        prog=command_name("distill.py"),
        description="Distill a trained style network into a faster one: by default the realtime network the shipped "
        "fast variants are (about 9x faster on a CPU), exported as STYLE-fast.onnx, which --fast runs.",
    )
    parser.add_argument(
        "--teacher", action="append",
        help="the trained network: checkpoint .pt, fp32 .onnx or a shipped style's name; given again for each "
        "further style, a network of several styles",
    )  # fmt: skip
    parser.add_argument(
        "--painting", metavar="IMAGE",
        help="in place of --teacher: any painting, taught by the arbitrary-style model (no network trained for it)",
    )  # fmt: skip
    parser.add_argument("--photos", required=True, help="folder of training photos (the last --holdout are kept)")
    parser.add_argument("--run-dir", required=True, help="where checkpoints go; an existing run is continued")
    parser.add_argument("--restart", action="store_true", help="start over even if --run-dir holds a run")
    parser.add_argument(
        "--export", help="the ONNX file to write at the end (default exports/STYLE-fast.onnx; for --painting "
        "exports/PAINTING-painting.onnx; for several teachers exports/STYLE1-STYLE2-....onnx, the model then named "
        "after the file)",
    )  # fmt: skip
    for name in ("width", "res_blocks", "steps", "batch_size", "image_size", "holdout", "max_photos", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=defaults[name])
    parser.add_argument(
        "--architecture", choices=TRANSFORMER_ARCHITECTURES, default=defaults["architecture"],
        help="realtime: the CPU and browser network the shipped fast variants are (fst.transformer); johnson: the "
        "teacher's layers, narrower",
    )  # fmt: skip
    parser.add_argument("--lr", type=float, default=defaults["lr"])
    parser.add_argument(
        "--device", default=defaults["device"], help="auto: a CUDA GPU where there is one, else the CPU"
    )
    parser.add_argument("--no-progress", action="store_true", help="a line every 50 steps instead of a bar")
    return parser


def check_arguments(args: argparse.Namespace) -> Path:
    """Every check of the arguments and of the places the run writes, before anything runs; returns --export."""
    if bool(args.teacher) == bool(args.painting):
        raise UsageError("give --teacher (a trained network, once per style) or --painting IMAGE, one of the two")
    for name in ("width", "steps", "batch_size", "image_size", "max_photos", "holdout"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)}: expected a positive number")
    if args.res_blocks < 0:
        raise UsageError(f"--res-blocks {args.res_blocks}: expected 0 or more")
    if not 16 <= args.image_size <= 4096:
        raise UsageError(f"--image-size {args.image_size}: expected 16 to 4096 pixels")
    if not 0 < args.lr < math.inf:
        raise UsageError(f"--lr {args.lr:g}: expected a number > 0")
    if not is_device_name(args.device):
        raise UsageError(f"--device {args.device}: expected {DEVICE_NAMES}")
    export = Path(args.export or "exports/STYLE-fast.onnx")
    if export.suffix.lower() != ".onnx" or export.is_dir():
        raise UsageError(f"--export {export}: expected a file name ending in .onnx")
    run_dir = Path(args.run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise FstError(f"--run-dir {run_dir}: a file, not a folder")
    check_writable(run_dir, f"--run-dir {run_dir}")
    check_writable(export.parent, f"--export {export}")  # found now, not after the whole run
    return export


def main(argv: list[str] | None = None) -> int:
    """`python distill.py --teacher T --photos DIR --run-dir R [--width 32] [--steps N] [--export PATH]`: the
    Trainer under fst.distill's objective; an existing run in R is continued."""
    args = parser().parse_args(argv)
    export = check_arguments(args)
    from fst.distill import distill_config  # PyTorch: once the arguments are checked, so --help answers at once
    from fst.export import export_onnx
    from fst.hardware import resolve_device
    from fst.metadata import metadata_for
    from fst.trainer import Trainer

    resolve_device(args.device, key="--device")  # an unavailable device, named as the flag it came from
    if args.painting:  # its statistics built into the arbitrary-style model (fst.arbitrary), cached
        from fst.arbitrary import painting_model

        teachers = [str(painting_model(find_model("arbitrary"), args.painting))]
    else:
        teachers = [str(find_model(teacher)) for teacher in args.teacher]  # a style's name: its shipped network
    settings = {key: getattr(args, key) for key in DISTILL_DEFAULTS if hasattr(args, key)}
    name = export.stem if len(teachers) > 1 and args.export else ""  # a network of several is named after its file
    config = distill_config(teachers, args.photos, args.run_dir, name, export.parent, **settings)
    trainer = Trainer(config, resume=None if args.restart else "auto", restart=args.restart)
    objective = trainer.objective
    where = f"resuming at step {trainer.step}" if trainer.resumed_from else "from scratch"
    student = f"a {args.architecture} network of width {args.width}"
    print(f"distilling {', '.join(teachers)} into {student} on {len(objective.paths)} photos, {trainer.device}, "
          f"{where}")  # fmt: skip
    with tqdm(total=len(objective.paths), unit="photo", desc="teacher", disable=args.no_progress) as bar:
        objective.prepare(lambda done, total: bar.update(1))
    for skipped in objective.skipped:
        print(f"warning: skipped unreadable image {skipped}")
    with tqdm(total=args.steps, initial=trainer.step, unit="step", disable=args.no_progress) as bar:
        trainer.run(lambda progress: show(progress, bar, args.no_progress))
    quality = objective.evaluate(trainer.holdout_paths)
    # Several styles: a network of its own; a painting's: named as one, never as the fast variant of a network
    # of the same name (exports/wave-fast.onnx is wave.onnx's).
    name = ModelName(
        f"{config.name}-painting" if args.painting else config.name, fast=len(teachers) == 1 and not args.painting
    )
    path = Path(args.export or Path("exports") / name.file)
    names = ", ".join(Path(teacher).name for teacher in teachers)
    metadata = {**metadata_for(config.to_dict() | objective.checkpoint_fields(), trainer.step), "teacher": names,
                "teacher_psnr_db": f"{quality:.2f}"}  # fmt: skip
    export_onnx(objective.model, path, metadata)
    print(f"done: step {trainer.step}; {quality:.2f} dB PSNR against the teacher on "
          f"{len(trainer.holdout_paths)} held-out photos; ONNX {path}")  # fmt: skip
    return 0


def show(progress: Progress, bar: tqdm, lines: bool) -> None:
    """One step on the bar; at log steps the loss (as PSNR against the teacher) and speed, as a line of its own
    when there is no bar."""
    bar.update(progress.step - bar.n)
    if progress.losses is None:
        return
    loss = progress.losses["total"]
    summary = f"loss {loss:.3g} ({-10 * math.log10(max(loss, 1e-12)):.1f} dB), {progress.images_per_second:.1f} img/s"
    bar.set_postfix_str(summary)
    if lines:
        print(f"step {progress.step}/{progress.steps} {summary}, eta {progress.eta_seconds / 60:.1f} min", flush=True)


def cli() -> None:
    """Console-script entry point (`fst-distill`), also what distill.py calls."""
    exit_with(main)
