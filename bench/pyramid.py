"""--optimize coarse to fine against one scale, at the same final size and iteration budget.

    python bench/pyramid.py --style data/styles/starry_night.jpg --photo data/demo/rocket.jpg \\
        --size 1024 --iters 60 --out runs/pyramid.jpg

Both start from the photo and minimize the training loss (the defaults, or --config's loss section) for --iters
evaluations in all: one scale spends them at full size, the pyramid (fst.optimize.optimize_pyramid) an equal share
at each level. Prints the final loss terms at full size and the seconds of each, writes a grid (photo, one scale,
pyramid), each result at full size as a PNG beside it, and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.config import LossConfig, load_config  # noqa: E402
from fst.data import to_image, to_tensor  # noqa: E402
from fst.grid import image_grid, labelled  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.optimize import optimize_image, optimize_pyramid, pyramid_sizes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--size", type=int, default=1024, help="long side of the final image")
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--config", help="a training config whose loss section to use")
    parser.add_argument("--cell", type=int, default=512, help="width of each grid cell")
    parser.add_argument("--out", default="runs/pyramid.jpg")
    args = parser.parse_args()
    config = load_config(args.config, check_paths=False).loss if args.config else LossConfig()
    loss_fn = perceptual_loss(config, load_style_image(args.style, config.style_size), torch.device("cpu"))
    photo = resize_long_side(load_rgb(args.photo), args.size)
    batch = to_tensor(photo).unsqueeze(0)
    levels = pyramid_sizes(args.size)
    print(f"CPU: {cpu_capability()}, {torch.get_num_threads()} threads; {photo.width}x{photo.height}, "
          f"{args.iters} iterations; pyramid levels {levels}")  # fmt: skip
    cell = (args.cell, round(args.cell * photo.height / photo.width))
    cells = [labelled(photo.resize(cell, Image.Resampling.LANCZOS), "photo")]
    results = {}
    for name, optimize in (("one scale", optimize_image), ("pyramid", optimize_pyramid)):
        start = time.perf_counter()
        image, terms = optimize(batch, loss_fn, args.iters)
        seconds = time.perf_counter() - start
        results[name] = {**{k: round(v, 4) for k, v in terms.items()}, "seconds": round(seconds, 1)}
        print(f"{name:>9}: total {terms['total']:.4g} (content {terms['content']:.3g}, style {terms['style']:.3g}, "
              f"tv {terms['tv']:.3g}) in {seconds:.0f} s", flush=True)  # fmt: skip
        out = to_image(image[0])
        out.save(Path(args.out).with_name(f"{Path(args.out).stem}-{name.replace(' ', '-')}.png"))
        label = f"{name}: {args.iters} iterations\ntotal {terms['total']:.3g}, style {terms['style']:.3g}, "
        label += f"{seconds:.0f} s"
        cells.append(labelled(out.resize(cell, Image.Resampling.LANCZOS), label))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    image_grid([cells]).save(args.out, quality=90)
    print(f"wrote {args.out}")
    print(json.dumps({"cpu": cpu_capability(), "size": [photo.width, photo.height], "iters": args.iters,
                      "levels": levels, **results}))  # fmt: skip


if __name__ == "__main__":
    main()
