"""`python -m fst.export` / `fst-export`: export a training checkpoint to a verified ONNX file."""

from __future__ import annotations

import argparse
from pathlib import Path

from fst.checkpoint import load_model
from fst.errors import FstError, command_name, exit_with
from fst.export import calibration_photos, export_onnx, metadata_for, write_model_index
from fst.files import check_writable


def parse_size(text: str) -> tuple[int, int]:
    """`--static 720x1280` -> (720, 1280): height first, as in NCHW."""
    height, _, width = text.lower().partition("x")
    if not (height.isdigit() and width.isdigit() and int(height) >= 8 and int(width) >= 8):
        raise FstError(f"--static {text}: expected HEIGHTxWIDTH in pixels, each at least 8, e.g. 720x1280")
    return int(height), int(width)


def main(argv: list[str] | None = None) -> int:
    """`python -m fst.export CHECKPOINT -o OUT.onnx [--fp16 | --int8] [--static HxW] [--photos DIR]`, or
    `python -m fst.export --index DIR`."""
    parser = argparse.ArgumentParser(
        prog=command_name("python -m fst.export"), description="Export a checkpoint to ONNX."
    )
    parser.add_argument("checkpoint", nargs="?", help="training checkpoint, e.g. runs/demo/last.pt")
    parser.add_argument("-o", "--output", help="the .onnx file to write")
    parser.add_argument(
        "--static", metavar="HxW", type=parse_size, help="fixed 1x3xHxW input, for runtimes that need fixed shapes"
    )
    parser.add_argument("--index", metavar="DIR", help="write DIR/models.json listing the models in DIR, and stop")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="fp16 inside, for GPUs")
    precision.add_argument("--int8", action="store_true", help="int8 convolutions (static quantization), for CPUs")
    parser.add_argument("--photos", help="photos to calibrate int8 and measure PSNR on (default: the run's data.root)")
    args = parser.parse_args(argv)
    if args.index:
        if not Path(args.index).is_dir():
            raise FstError(f"--index {args.index}: expected a folder of .onnx models")
        check_writable(Path(args.index), f"--index {args.index}")
        print(f"wrote {write_model_index(args.index)}")
        return 0
    if not args.checkpoint or not args.output:
        raise FstError("expected a checkpoint and -o OUT.onnx (or --index DIR)")
    output = Path(args.output)
    if output.suffix.lower() != ".onnx":
        raise FstError(f"-o {output}: expected a file name ending in .onnx (an existing file of another kind is kept)")
    if output.resolve() == Path(args.checkpoint).resolve():
        raise FstError(f"refusing to write over the input {args.checkpoint}: choose another -o")
    check_writable(output.parent, f"-o {output}")
    model, state = load_model(args.checkpoint)
    chosen = "fp16" if args.fp16 else "int8" if args.int8 else "fp32"
    photos = None
    if chosen != "fp32":
        folder = args.photos or state["config"]["data"]["root"]
        if not Path(folder).is_dir():
            raise FstError(f"the training photos {folder} are not here; pass --photos DIR with a few sample photos")
        photos = calibration_photos(folder)
    metadata = metadata_for(state["config"], state["step"])
    report = export_onnx(model, args.output, metadata, chosen, photos, static=args.static)
    print(report.summary())
    return 0


def cli() -> None:
    """Console-script entry point (`fst-export`), also `python -m fst.export`."""
    exit_with(main)
