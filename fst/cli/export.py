"""`python export.py` / `fst-export`: export a training checkpoint (or re-export an fp32 .onnx) to a verified ONNX
file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fst.catalogue import find_model
from fst.errors import FstError, UsageError, command_name, exit_with
from fst.files import check_writable
from fst.metadata import metadata_for, write_model_index
from fst.onnxfile import onnx_metadata

if TYPE_CHECKING:
    from fst.transformer import TransformerNet

MAX_STATIC = 4096  # the export is verified by running it at that size: about 14 GB at 4096x4096 (0.85 GB a megapixel)
DERIVED_METADATA = ("fst_version", "io", "precision", "psnr_db")  # what export_onnx writes anew


def parse_size(text: str) -> tuple[int, int]:
    """`--static 720x1280` -> (720, 1280): height first, as in NCHW."""
    height, _, width = text.lower().partition("x")
    if not (height.isdigit() and width.isdigit() and 8 <= int(height) <= MAX_STATIC and 8 <= int(width) <= MAX_STATIC):
        raise UsageError(
            f"--static {text}: expected HEIGHTxWIDTH in pixels, each from 8 to {MAX_STATIC}, e.g. 720x1280"
        )
    return int(height), int(width)


def load_source(path: Path) -> tuple[TransformerNet, dict[str, str], str | None]:
    """The network, its metadata and its training photos (None for an export) from a checkpoint or an fp32 .onnx:
    an export is a source too, so a shipped style's int8 or static copy needs no checkpoint."""
    from fst.checkpoint import load_model, load_network

    if path.suffix.lower() != ".onnx":
        model, state = load_model(path)
        root = state["config"]["data"].get("root")  # none for a network distilled by an earlier version
        # what the objective saved beside the config (fst.trainer): the styles of several, a teacher's digest
        saved = {key: state[key] for key in ("styles", "style_images", "made_from") if state.get(key)}
        return model, metadata_for(state["config"] | saved, state["step"]), root
    model = load_network(path)  # refuses int8 and fp16 exports, naming them
    return model, {k: v for k, v in onnx_metadata(path).items() if k not in DERIVED_METADATA}, None


def export_decoder(path: Path, state: dict, output: Path, args: argparse.Namespace) -> int:
    """The arbitrary-style model from a decoder run's checkpoint (`state`, read from `path`): fp32, any size."""
    from fst.decoder import decoder_from
    from fst.export_arbitrary import export_arbitrary

    if args.fp16 or args.int8 or args.static:
        raise UsageError(f"{path} is a decoder: its model is exported in fp32 for any size (drop --fp16, --int8, "
                         "--static)")  # fmt: skip
    config = state["config"]
    error = export_arbitrary(decoder_from(state), config["loss"]["vgg_weights"], output,
                             metadata_for(config, state["step"]))  # fmt: skip
    print(f"wrote {output} (the arbitrary-style model, fp32, max abs error {error:.2g} vs PyTorch)")
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command_name("export.py"), description="Export a checkpoint to ONNX."
    )
    parser.add_argument(
        "checkpoint", nargs="?", help="training checkpoint (runs/demo/last.pt), fp32 .onnx or a shipped style's name"
    )
    parser.add_argument("-o", "--output", help="the .onnx file to write")
    parser.add_argument(
        "--static", metavar="HxW", type=parse_size, help="fixed 1x3xHxW input, for runtimes that need fixed shapes"
    )
    parser.add_argument(
        "--pad-inside", action="store_true",
        help="the graph pads any height and width and crops back itself, for runtimes that take the model as it is "
        "(onnxruntime, OpenVINO, the browser); OpenCV's DNN rejects the shape arithmetic this takes",
    )  # fmt: skip
    parser.add_argument("--index", metavar="DIR", help="write DIR/models.json listing the models in DIR, and stop")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="fp16 inside, for GPUs")
    precision.add_argument("--int8", action="store_true", help="int8 convolutions (static quantization), for CPUs")
    parser.add_argument("--photos", help="photos to calibrate int8 and measure PSNR on (default: the run's data.root)")
    parser.add_argument(
        "--painting", metavar="IMAGE",
        help="build a painting into the arbitrary-style model (default model: arbitrary): one file, one input, "
        "no training",
    )  # fmt: skip
    parser.add_argument("--strength", type=float, default=1.0, help="with --painting: 0..1, built in (default 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python export.py CHECKPOINT -o OUT.onnx [--fp16 | --int8] [--static HxW] [--photos DIR]`, or
    `python export.py --index DIR`."""
    args = parser().parse_args(argv)
    if args.index:
        if not Path(args.index).is_dir():
            raise FstError(f"--index {args.index}: expected a folder of .onnx models")
        check_writable(Path(args.index), f"--index {args.index}")
        print(f"wrote {write_model_index(args.index)}")
        return 0
    if args.painting and not args.checkpoint:
        args.checkpoint = "arbitrary"
    if not args.checkpoint or not args.output:
        raise UsageError("expected a checkpoint and -o OUT.onnx (or --index DIR)")
    if args.painting and (args.fp16 or args.int8 or args.static):
        raise UsageError("--painting writes an fp32 model that takes any size: drop --fp16, --int8 and --static")
    if not 0 <= args.strength <= 1:
        raise UsageError(f"--strength {args.strength:g}: expected a number from 0 to 1")
    output = Path(args.output)
    if output.suffix.lower() != ".onnx":
        raise UsageError(
            f"-o {output}: expected a file name ending in .onnx (an existing file of another kind is kept)"
        )
    source = find_model(args.checkpoint)  # a style's name: its shipped network
    if output.is_dir():
        raise FstError(f"-o {output}: a folder; expected the .onnx file to write")
    for read in filter(None, [source, args.painting]):
        if output.resolve() == Path(read).resolve():
            raise FstError(f"refusing to write over the input {read}: choose another -o")
    check_writable(output.parent, f"-o {output}")
    if args.painting:  # no PyTorch
        from fst.arbitrary import export_painting

        export_painting(source, args.painting, output, args.strength)
        print(f"wrote {output} ({source} with {args.painting} built in at strength {args.strength:g}: input image)")
        return 0
    if source.suffix.lower() != ".onnx":  # a decoder run's checkpoint exports as the arbitrary-style model
        from fst.checkpoint import load_checkpoint

        state = load_checkpoint(source)
        if state["config"].get("model", {}).get("architecture") == "decoder":
            return export_decoder(source, state, output, args)
    from fst.export import export_onnx  # PyTorch: after the checks, and not for --index
    from fst.quantize import calibration_photos

    model, metadata, data_root = load_source(source)
    chosen = "fp16" if args.fp16 else "int8" if args.int8 else "fp32"
    photos = None
    if chosen != "fp32":
        folder = args.photos or data_root
        if not folder or not Path(folder).is_dir():
            where = f"the training photos {folder} are not here" if folder else f"{args.checkpoint} names no photos"
            raise FstError(f"{where}; pass --photos DIR with a few sample photos")
        photos = calibration_photos(folder)
    report = export_onnx(model, args.output, metadata, chosen, photos, static=args.static, pad_inside=args.pad_inside)
    print(report.summary())
    return 0


def cli() -> None:
    """Console-script entry point (`fst-export`), also `python export.py`."""
    exit_with(main)
