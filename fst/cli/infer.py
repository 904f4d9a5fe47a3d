"""`python infer.py` / `fst-infer`: stylize images, animations, videos and a webcam with a trained model or with
any painting (--painting). Optimization without a model is fst.cli.optimize's."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from fst.architectures import MIN_SIDE
from fst.catalogue import ModelName, has_fast_variant
from fst.cli.listing import list_styles
from fst.cli.outputs import TileBar, check_recording, check_size, keep_existing, report
from fst.devices import DEVICE_NAMES, is_device_name
from fst.errors import FstError, UsageError, command_name, exit_with
from fst.images import resize_long_side
from fst.media import (
    ANIMATION_FORMATS,
    Job,
    frame_count,
    plan_jobs,
    read_image,
    save_image,
    transform_animation,
)
from fst.options import STYLE_SCALE
from fst.stylize import Stylizer
from fst.video import count_frames, transform_video
from fst.webcam import run_webcam


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command_name("infer.py"), description="Stylize images and videos with a trained fst model or any painting."
    )
    paints = parser.add_argument_group("what paints")
    paints.add_argument("--model", help="exported .onnx file, training checkpoint .pt, or a shipped style's name")
    paints.add_argument("--list", action="store_true", help="list the shipped styles and their terms, then exit")
    paints.add_argument(
        "--style", help="a model of several styles: which one, or a blend (starry_night=0.7,wave=0.3; the weights are "
        "scaled to sum to 1)",
    )  # fmt: skip
    paints.add_argument(
        "--painting", metavar="IMAGE",
        help="stylize with any painting, no training: its image file, run by the arbitrary-style model (the default "
        "--model then); --strength blends its features with the photo's",
    )  # fmt: skip
    files = parser.add_argument_group("inputs and outputs")
    files.add_argument(
        "--input", nargs="+",
        help="image or video files, folders (searched recursively), glob patterns, or webcam:N",
    )  # fmt: skip
    files.add_argument("--output", help="output file (one input) or folder; optional for webcam:N (records to it)")
    files.add_argument("--size", type=int, help="resize so the long side is SIZE pixels before stylizing")
    files.add_argument("--overwrite", action="store_true", help="replace existing output files")
    files.add_argument(
        "-v", "--verbose", action="store_true",
        help="say which file runs and why: the int8 copy, the runtime and its measured speed, a video's stable variant",
    )  # fmt: skip
    files.add_argument(
        "--first-frame", action="store_true", help="stylize only the first frame of an animated GIF, APNG or WebP"
    )
    picture = parser.add_argument_group("the picture")
    picture.add_argument(
        "--style-scale", type=style_scale, default=STYLE_SCALE, metavar="SIZE",
        help=f"strokes sized as on a SIZE-pixel image at any resolution: a larger photo is stylized at SIZE on its "
        f"long side and brought up along its edges (default {STYLE_SCALE}); 'full': at full resolution, in tiles, "
        "with finer strokes",
    )  # fmt: skip
    picture.add_argument(
        "--preserve-colors", action="store_true", help="keep the photo's colours, take the style's luminance"
    )
    picture.add_argument("--strength", type=float, default=1.0, help="0..1: blend of photo (0) and stylized (1)")
    picture.add_argument(
        "--no-temporal", action="store_true",
        help="stylize each video, animation or webcam frame on its own with the model asked for (default: the "
        "style's stable variant where one is shipped, stabilized along the motion)",
    )  # fmt: skip
    speed_flags(parser.add_argument_group("speed and memory"))
    return parser


def speed_flags(group: argparse._ArgumentGroup) -> None:
    """Where and how fast the model runs: device, runtime, tiles and memory, the fast, int8 and compiled paths."""
    group.add_argument("--device", default="auto", metavar="DEVICE",
                       help=f"{DEVICE_NAMES} (auto: CUDA when available)")  # fmt: skip
    group.add_argument(
        "--runtime", default="auto", choices=["auto", "onnxruntime", "openvino"],
        help="what runs an .onnx model on the CPU (auto: the faster on this CPU, measured once and remembered)",
    )  # fmt: skip
    group.add_argument(
        "--max-memory", type=float, metavar="GB",
        help="memory budget: larger images are stylized in tiles that fit (default: RAM/8, 1 to 3 GB)",
    )  # fmt: skip
    group.add_argument("--tile", type=int, help="stylize images larger than TILE pixels in tiles of that size")
    group.add_argument(
        "--overlap", type=int, default=0,
        help="pixels over which neighbouring tiles are blended (default 0: each tile runs with as much context as the "
        "network's receptive field, so tiles meet without seams)",
    )  # fmt: skip
    speed = group.add_mutually_exclusive_group()
    speed.add_argument(
        "--fast", action="store_true",
        help="run NAME-fast.onnx, the realtime network distilled from NAME.onnx: about 9x faster on a CPU than "
        "the full network, a slightly coarser picture (docs/benchmarks.md) "
        "(the default for webcam:N where there is one)",
    )  # fmt: skip
    speed.add_argument("--no-fast", action="store_true", help="run the full network, also for webcam:N")
    group.add_argument(
        "--no-int8", action="store_true",
        help="run the model as given; by default a CPU with fast int8 runs NAME-int8.onnx where it is within 35 dB",
    )  # fmt: skip
    group.add_argument(
        "--compile", action="store_true",
        help="on a GPU through PyTorch: compile the network once per frame size (about a minute each), for long "
        "videos and the webcam",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`python infer.py --model M --input A [B ...] --output O`; exit code 1 when any input failed."""
    argv = sys.argv[1:] if argv is None else argv
    if "--optimize" in argv:  # the optimization's own command now (fst.cli.optimize); its flags are the same
        print("note: optimization is its own command, fst-optimize (python optimize.py); running it", file=sys.stderr)
        from fst.cli.optimize import main as optimize

        return optimize([arg for arg in argv if arg != "--optimize"])
    args = parser().parse_args(argv)
    if args.list:
        return list_styles()
    webcam = check_arguments(args)
    painting = (args.painting,) if args.painting else ()  # read like an input: never written over
    jobs = [] if webcam else plan_jobs(args.input, args.output, painting)  # every output problem found before work
    record = check_recording(args.output, args.overwrite) if webcam and args.output is not None else None
    if webcam and not args.fast and not args.no_fast and args.painting is None:
        args.fast = has_fast_variant(args.model)  # live video wants the frame rate; --no-fast for the full network
    stylizer = Stylizer(
        args.model, args.device, args.tile, args.overlap, args.preserve_colors, args.strength, args.max_memory,
        args.style_scale, int8=not args.no_int8, fast=args.fast, compile=args.compile, style=args.style,
        runtime=args.runtime, painting=args.painting,
    )  # fmt: skip
    if args.verbose:
        if stylizer.choice:
            print(stylizer.choice, file=sys.stderr)
        print(f"runtime: {stylizer.runtime} ({stylizer.runtime_reason})", file=sys.stderr)
    else:
        print(f"running {what_runs(stylizer, args.painting)}", file=sys.stderr)
    if stylizer.styles and args.style is None:
        print(f"style: {stylizer.styles[0]}, the first of {', '.join(stylizer.styles)} (--style NAME, or a blend "
              "NAME=WEIGHT,...)", file=sys.stderr)  # fmt: skip

    def resized(image: Image.Image) -> Image.Image:
        return resize_long_side(image, args.size) if args.size else image

    def transform(image: Image.Image, name: str) -> Image.Image:
        with TileBar(name) as bar:  # shown for an image stylized in tiles
            return stylizer.stylize(resized(image), bar)

    def frames_transform(parallel: bool = False) -> tuple[Callable[[Image.Image], Image.Image], int]:
        """A fresh transform for the frames of one video or animation, stabilized unless --no-temporal, and how
        many frames it takes at once (parallel: a file's frames, see Stylizer.video)."""
        video = stylizer.video(temporal=not args.no_temporal, parallel=parallel)
        if video.stylizer is not stylizer and not said:  # the style's stable variant runs: say so once
            said.append(f"videos: running {video.stylizer.path}, fine-tuned to hold its strokes still "
                        f"(--no-temporal: {stylizer.path} frame by frame)" if args.verbose else
                        f"videos: running {what_runs(video.stylizer, None)}")  # fmt: skip
            tqdm.write(said[0], file=sys.stderr)  # above the progress bar, not through it
        return (lambda image: video.stylize(resized(image))), video.parallel

    said: list[str] = []
    if webcam:
        recorded = run_webcam(int(webcam[0][7:]), frames_transform()[0], record, args.overwrite)
        if record is not None:
            print(f"recorded {recorded} frames -> {record}")
        return 0
    images = [job for job in jobs if not job.is_video]
    failed, kept = stylize_images(images, transform, frames_transform, args.overwrite, args.first_frame)
    videos = stylize_videos([job for job in jobs if job.is_video], frames_transform, args.overwrite)
    return report(len(jobs), failed + videos[0], kept + videos[1], args.output)


def stylize_videos(jobs: list[Job], frames_transform, overwrite: bool) -> tuple[int, int]:
    """Every video job through a fresh frames_transform(), with a progress bar each; returns (failed, kept)."""
    failed = kept = 0
    for job in jobs:
        if keep_existing(job, overwrite):
            kept += 1
            continue
        try:
            expected = count_frames(job.source)
            with tqdm(total=expected, unit="frame", dynamic_ncols=True, desc=job.source.name) as bar:
                transform, workers = frames_transform(parallel=True)
                written = transform_video(job.source, job.target, transform, lambda: bar.update(1), overwrite, workers)
        except FstError as e:
            print(f"error: {job.source}: {e}; skipped", file=sys.stderr)
            failed += 1
            continue
        if written < expected:  # the decoder stopped early without an error: a damaged file
            print(f"error: {job.source}: only {written} of its {expected} frames could be decoded (a damaged file); "
                  f"{job.target} holds those {written}", file=sys.stderr)  # fmt: skip
            failed += 1
    return failed, kept


def what_runs(stylizer: Stylizer, painting: str | None) -> str:
    """One line of what runs, by name: the style (or the painting), the network's variant, int8 where the copy runs,
    and the runtime, e.g. `wave: the realtime stable network, int8, in openvino`; --verbose says why each was
    chosen. The variant is what the file's name says (fst.catalogue.ModelName)."""
    name = ModelName.parse(stylizer.path)
    if painting:
        style, kind = f"the painting {Path(painting).name}", "the arbitrary-style model"
    elif stylizer.path.suffix != ".onnx":
        style, kind = stylizer.path.stem, "a training checkpoint"
    else:
        style, kind = name.style, f"the {'realtime' if name.fast else 'full'} {'stable ' * name.stable}network"
    return f"{style}: {kind}{', int8' * name.int8}, in {stylizer.runtime}"


def style_scale(text: str) -> int | None:
    """--style-scale: a number of pixels, or 'full' (None: no style scale)."""
    if text == "full":
        return None
    if not text.isdigit() or int(text) < 4 * MIN_SIDE:
        raise argparse.ArgumentTypeError(f"expected a number of pixels of at least {4 * MIN_SIDE}, or 'full'")
    return int(text)


def check_arguments(args: argparse.Namespace) -> list[str]:
    """Every check of the arguments alone, before anything is read; returns the webcam:N input, if that is it."""
    if not args.input:
        raise UsageError("--input is required (image or video files, folders, glob patterns, or webcam:N)")
    check_size(args.size)
    if not is_device_name(args.device):
        raise UsageError(f"--device {args.device}: expected {DEVICE_NAMES}")
    if args.max_memory is not None and not 0 < args.max_memory < math.inf:
        raise UsageError(f"--max-memory {args.max_memory:g}: expected a number of GB > 0")
    if args.model is None and args.painting is None:
        raise UsageError("--model is required (an .onnx file, a checkpoint or a style's name), or --painting IMAGE "
                         "(optimization without a model: fst-optimize)")  # fmt: skip
    if args.painting is not None and (args.style or args.tile or args.fast):
        flag = "--style" if args.style else "--tile" if args.tile else "--fast"
        raise UsageError(f"{flag} does not go with --painting: the painting is the style, and its model runs whole")
    webcam = [name for name in args.input if name.startswith("webcam:")]
    if webcam:
        if len(args.input) > 1 or not webcam[0][7:].isdigit():
            raise UsageError("--input webcam:N takes a camera index, e.g. webcam:0, and no other inputs")
    elif args.output is None:
        raise UsageError("--output is required (a file for one input, else a folder)")
    return webcam


def stylize_images(jobs: list[Job], transform, frames_transform, overwrite: bool, first_frame: bool) -> tuple[int, int]:
    """Every image job, animations frame by frame through a fresh frames_transform(); returns (failed, kept). An
    input that cannot be read or taken by the model (too small, animated into a still format) is reported and
    skipped: the others still can."""
    failed = kept = 0
    with tqdm(total=len(jobs), unit="img", dynamic_ncols=True, disable=len(jobs) < 2) as bar:
        for job in jobs:
            bar.update(1)
            if keep_existing(job, overwrite):
                kept += 1
                continue
            try:
                image = read_image(job.source)
            except FstError as e:
                tqdm.write(f"error: {e}; skipped", file=sys.stderr)
                failed += 1
                continue
            try:
                frames = frame_count(job.source)
                if frames > 1 and not first_frame:
                    if job.target.suffix.lower() not in ANIMATION_FORMATS:
                        raise FstError(
                            f"an animation of {frames} frames; write it as .gif, .png or .webp, or pass "
                            "--first-frame for a still of its first frame"
                        )
                    with tqdm(total=frames, unit="frame", dynamic_ncols=True, desc=job.source.name) as frame_bar:
                        transform_animation(
                            job.source, job.target, frames_transform()[0], lambda: frame_bar.update(1), overwrite
                        )
                    continue
                save_image(transform(image, job.source.name), job.target, overwrite)
            except FstError as e:
                tqdm.write(f"error: {job.source}: {e}; skipped", file=sys.stderr)
                failed += 1
    return failed, kept


def cli() -> None:
    """Console-script entry point (`fst-infer`), also what infer.py calls."""
    exit_with(main)
