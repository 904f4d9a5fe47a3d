"""Fast variants: each shipped style's fast network (distill.py) against the full network it was distilled from.

    python bench/fast.py [--styles the_scream wave starry_night] [--size 256] [--grid docs/fast.jpg]

For each style with exports/<style>-fast.onnx: PSNR against the full network (fp32, eager) of the fast network
in fp32 and of what `--fast` runs by default (its int8 copy where the CPU's int8 is fast and the copy keeps 35 dB);
the content, style and total loss of both networks under the style's training loss (configs/pretrained), on the
7 quality photos of bench/quality.py (../shared/data/content, the last 3 BSDS photos, chelsea.jpg) at --size; and
milliseconds at 512x512, PIL in and out, of the full network eagerly, the default path and --fast. Writes a grid:
two rows per style (demo photos) with the photo, the full network and the fast one, and prints the CPU's capability.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.checkpoint import load_network  # noqa: E402
from fst.config import load_config  # noqa: E402
from fst.data import to_image, to_tensor  # noqa: E402
from fst.grid import image_grid, labelled  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.optimize import evaluate  # noqa: E402
from fst.photos import find_images, split_holdout  # noqa: E402
from fst.quantize import psnr  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


def quality_photos() -> list[Path]:
    """bench/quality.py's photos at the model cards' budget (Makefile QUALITY)."""
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is missing: the quality photos are there")
    held_out = split_holdout(find_images(SHARED / "photos"), 3)[1]
    return find_images(SHARED / "content") + held_out + [REPO / "data" / "demo" / "chelsea.jpg"]


def median_ms(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=["the_scream", "wave", "starry_night", "udnie"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--grid", default="fast.jpg")
    args = parser.parse_args()
    photos = [to_tensor(resize_long_side(load_rgb(p), args.size))[None] for p in quality_photos()]
    # The grid shows demo photos only: those of ../shared may not be copied into the repository.
    shown_photos = [to_tensor(resize_long_side(load_rgb(REPO / "data" / "demo" / name), args.size))[None]
                    for name in ("chelsea.jpg", "rocket.jpg")]  # fmt: skip
    timing_photo = resize_long_side(load_rgb(REPO / "data" / "demo" / "astronaut.jpg"), 512)
    print(f"CPU: {cpu_capability()}; {len(photos)} photos at {args.size} px; ms at 512x512")
    header = f"{'style':<13} {'network':<34} {'PSNR dB':>8} {'content':>8} {'style':>8} {'total':>8} {'ms':>7}"
    print(header)
    rows = []
    for style in args.styles:
        full_path, fast_path = REPO / "exports" / f"{style}.onnx", REPO / "exports" / f"{style}-fast.onnx"
        if not fast_path.is_file():
            print(f"{style:<13} skipped: no {fast_path.name}")
            continue
        config = load_config(REPO / "configs" / "pretrained" / f"{style}.yaml", check_paths=False)
        loss_fn = perceptual_loss(config.loss, load_style_image(config.style_image, config.loss.style_size), "cpu")
        full = load_network(full_path)
        fast = load_network(fast_path)
        default, fast_default = Stylizer(full_path, "cpu"), Stylizer(full_path, "cpu", fast=True)
        with torch.no_grad():
            references = [full(p) for p in photos]
            candidates = {
                "full, eager fp32": references,
                "fast, fp32": [fast(p) for p in photos],
                f"--fast: {Path(fast_default.path).name}": [torch.from_numpy(fast_default.backend(p.numpy())) for p in photos],
            }
        timings = {
            "full, eager fp32": lambda: to_image(full(to_tensor(timing_photo)[None])[0]),
            f"default: {Path(default.path).name}": lambda: default.stylize(timing_photo),
            f"--fast: {Path(fast_default.path).name}": lambda: fast_default.stylize(timing_photo),
        }
        with torch.no_grad():
            ms = {name: median_ms(fn) for name, fn in timings.items()}
        for name in dict.fromkeys([*candidates, *timings]):
            shown = f"{style:<13} {name:<34}"
            if name in candidates:
                quality = psnr(zip(candidates[name], references))
                losses = [evaluate(loss_fn, out, loss_fn.content_target(p)) for out, p in zip(candidates[name], photos)]
                means = {t: statistics.mean(loss[t] for loss in losses) for t in ("content", "style", "total")}
                shown += f" {quality:>8.1f} {means['content']:>8.3f} {means['style']:>8.3f} {means['total']:>8.3f}"
            else:
                shown += " " * 36
            print(shown + (f" {ms[name]:>7.0f}" if name in ms else ""), flush=True)
        with torch.no_grad():
            for photo in shown_photos:
                rows.append([labelled(to_image(photo[0]), "photo"),
                             labelled(to_image(full(photo)[0]), f"{style}: full network"),
                             labelled(to_image(fast(photo)[0]), f"{style}: fast ({fast.architecture})")])  # fmt: skip
    if rows:
        image_grid(rows, gap=8).save(args.grid, quality=90)
        print(f"grid: {args.grid}")


if __name__ == "__main__":
    main()
