"""Loss calibration: Gatys et al.'s optimization under several loss settings, side by side.

A network can at best learn the optimum of its loss, so the loss weights are chosen by looking at that optimum:
each setting optimizes the same photo for the same number of L-BFGS iterations, and the results go into one
picture grid (photo first, then one cell per setting) and one table. The table scores every result twice: under
its own loss, and under a fixed yardstick (content at relu2_2, style over relu1_2..relu4_3 with equal weights, at
style_size 512) so that settings with different weights can be compared on the same numbers.

    python bench/loss_sweep.py --style data/styles/starry_night.jpg \\
        --try "" --try "loss.style_weight=5 loss.tv_weight=1" --grid docs/sweeps/starry_night.jpg

Each --try is a space-separated list of config overrides (as train.py's --set) on top of the defaults, or of
--config when given; "" is the defaults themselves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from fst.config import Config, LossConfig, config_from_dict, load_config
from fst.data import to_image, to_tensor
from fst.grid import image_grid, labelled
from fst.images import load_rgb, resize_long_side
from fst.losses import load_style_image, perceptual_loss
from fst.optimize import evaluate, optimize_image

YARDSTICK = LossConfig(style_weight=1.0, tv_weight=0.0, style_size=512)


def loss_config_for(overrides: str, base: str | None, style: str) -> LossConfig:
    """The LossConfig of the defaults (or `base`) with `overrides` applied, checked as train.py would."""
    if base:
        config = load_config(base, overrides.split(), check_paths=False)
    else:
        config = config_from_dict({"name": "sweep", "style_image": style, "data": {"root": "."}}, overrides.split())
    assert isinstance(config, Config)
    return config.loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", required=True, help="style image")
    parser.add_argument("--photo", default="../shared/data/content/chicago.jpg", help="photo to optimize")
    parser.add_argument("--size", type=int, default=256, help="long side of the photo, pixels")
    parser.add_argument("--iters", type=int, default=100, help="L-BFGS iterations per setting")
    parser.add_argument("--config", help="a training config whose loss section is the base of every --try")
    parser.add_argument("--try", dest="tries", action="append", required=True, metavar="OVERRIDES")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--grid", required=True, help="where to write the picture grid (jpg or png)")
    args = parser.parse_args()

    torch.manual_seed(0)
    device = torch.device("cpu")
    photo_image = resize_long_side(load_rgb(args.photo), args.size)
    photo = to_tensor(photo_image).unsqueeze(0)
    yardstick = perceptual_loss(YARDSTICK, load_style_image(args.style, YARDSTICK.style_size), device)
    target = yardstick.content_target(photo)
    base = evaluate(yardstick, photo, target)
    cells = [labelled(photo_image, f"photo\ncontent 0  style {base['style']:.3f}")]
    print(f"{Path(args.style).stem} on {Path(args.photo).name}, {args.size} px, {args.iters} L-BFGS iterations")
    print("| setting | own total | yardstick content | yardstick style | tv | s |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| photo | | 0 | {base['style']:.3f} | {base['tv']:.3f} | |")
    for overrides in args.tries:
        config = loss_config_for(overrides, args.config, args.style)
        loss_fn = perceptual_loss(config, load_style_image(args.style, config.style_size), device)
        started = time.perf_counter()
        image, own = optimize_image(photo, loss_fn, args.iters)
        seconds = time.perf_counter() - started
        score = evaluate(yardstick, image, target)
        name = overrides.replace("loss.", "") or "defaults"
        print(
            f"| {name} | {own['total']:.3f} | {score['content']:.3f} | {score['style']:.3f} | "
            f"{score['tv']:.3f} | {seconds:.0f} |",
            flush=True,
        )
        label = f"{name}\ncontent {score['content']:.2f}  style {score['style']:.3f}"
        cells.append(labelled(to_image(image[0]), label))
    Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
    rows = [cells[i : i + args.columns] for i in range(0, len(cells), args.columns)]
    image_grid(rows).save(args.grid, quality=92)
    print(f"grid: {args.grid}")


if __name__ == "__main__":
    main()
