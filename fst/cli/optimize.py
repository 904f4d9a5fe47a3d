"""`python optimize.py` / `fst-optimize`: Gatys et al.'s optimization of each image under the training loss, no
network (fst.optimize): the quality reference the networks are measured against."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from fst.cli.outputs import check_size, keep_existing, report
from fst.devices import DEVICE_NAMES, is_device_name
from fst.errors import FstError, UsageError, command_name, exit_with
from fst.images import finish, resize_long_side, split_alpha
from fst.media import plan_jobs, read_image, save_image


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command_name("optimize.py"),
        description="Paint images in the manner of a painting by optimizing each one under the training loss "
        "(Gatys et al.): slow, and the quality reference for the networks.",
    )  # fmt: skip
    parser.add_argument("--style", required=True, metavar="IMAGE", help="the painting's image file")
    parser.add_argument("--input", nargs="+", required=True, help="image files, folders (recursive) or glob patterns")
    parser.add_argument("--output", required=True, help="output file (one input) or folder")
    parser.add_argument("--size", type=int, help="resize so the long side is SIZE pixels first")
    parser.add_argument("--iters", type=int, default=300, help="iterations (default 300)")
    parser.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"], help="default lbfgs")
    parser.add_argument("--lr", type=float, help="step size (default 1 for lbfgs, 0.01 for adam)")
    parser.add_argument(
        "--no-pyramid", action="store_true", help="optimize at full size only (default above 512 px: coarse to fine)"
    )
    parser.add_argument("--config", help="a training config whose loss section to use (default: the defaults)")
    parser.add_argument("--device", default="auto", help=f"{DEVICE_NAMES} (default auto: a GPU where there is one)")
    parser.add_argument("--preserve-colors", action="store_true", help="keep the photo's colours")
    parser.add_argument("--strength", type=float, default=1.0, help="0..1: blend of photo (0) and result (1)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python optimize.py --style PAINTING --input A [B ...] --output O`; exit code 1 when any input failed."""
    args = parser().parse_args(argv)
    check_size(args.size)
    if args.iters < 1:
        raise UsageError(f"--iters {args.iters}: expected a whole number of iterations, 1 or more")
    if not 0.0 <= args.strength <= 1.0:
        raise UsageError(f"--strength {args.strength:g}: expected a number from 0 to 1")
    if not is_device_name(args.device):
        raise UsageError(f"--device {args.device}: expected {DEVICE_NAMES}")
    jobs = plan_jobs(args.input, args.output, (args.style,))
    if any(job.is_video for job in jobs):
        raise UsageError("optimization works on images only; stylize videos with a trained model (fst-infer)")
    from fst.config import LossConfig, load_config  # PyTorch from here: once the arguments are checked
    from fst.data import to_image, to_tensor
    from fst.hardware import resolve_device
    from fst.losses import load_style_image, perceptual_loss
    from fst.optimize import optimize_image, optimize_pyramid

    loss_config = load_config(args.config, check_paths=False).loss if args.config else LossConfig()
    device = resolve_device(args.device, key="--device")
    loss_fn = perceptual_loss(loss_config, load_style_image(args.style, loss_config.style_size), device)
    failed = kept = 0
    for job in jobs:
        if keep_existing(job, args.overwrite):
            kept += 1
            continue
        try:
            photo, alpha = split_alpha(read_image(job.source))
        except FstError as e:
            tqdm.write(f"error: {e}; skipped", file=sys.stderr)
            failed += 1
            continue
        if args.size:
            photo = resize_long_side(photo, args.size)
        with tqdm(total=args.iters, unit="it", dynamic_ncols=True, desc=job.source.name) as bar:

            def show(_: int, terms: dict[str, float], __) -> None:
                bar.update(1)
                bar.set_postfix_str(f"loss {terms['total']:.4g} (content {terms['content']:.3g}, "
                                    f"style {terms['style']:.3g})")  # fmt: skip

            optimize = optimize_image if args.no_pyramid else optimize_pyramid
            batch = to_tensor(photo).unsqueeze(0).to(device)
            image, _ = optimize(batch, loss_fn, args.iters, args.optimizer, args.lr, show)
        save_image(finish(photo, to_image(image[0]), alpha, args.preserve_colors, args.strength), job.target,
                   args.overwrite)  # fmt: skip
    return report(len(jobs), failed, kept, args.output)


def cli() -> None:
    """Console-script entry point (`fst-optimize`), also what optimize.py calls."""
    exit_with(main)
