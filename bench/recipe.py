"""Training recipes side by side: held-out loss against step, same seed, data and network for every recipe.

    python bench/recipe.py --config configs/pretrained/starry_night.yaml --steps 200 --size 128 \\
        --recipe "old=train.lr=0.001 train.warmup_steps=0 train.lr_schedule=constant" --recipe "new=" \\
        --plot docs/recipe-starry_night.png

Each --recipe is NAME=OVERRIDES (train.py's --set values, space-separated) on top of --config. Every recipe trains
from the same seed on the same photo order; every --every steps the network is scored on a fixed batch of the
config's held-out photos (data.holdout) under the recipe's own loss, which is less noisy than the loss of the
training batches. The table says, for each recipe, the first step at which it reached the final loss of the first
recipe: the speed-up that matters.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from fst.config import load_config
from fst.data import PhotoDataset, PositionSampler, center_crop, collate, to_tensor
from fst.images import load_rgb
from fst.photos import find_images, split_holdout
from fst.trainer import Trainer

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]


def held_out_batch(config, count: int = 8) -> torch.Tensor:
    _, held_out = split_holdout(find_images(config.data.root), config.data.holdout)
    return torch.stack([to_tensor(center_crop(load_rgb(p), config.data.image_size)) for p in held_out[:count]])


def train_curve(trainer: Trainer, steps: int, every: int, photos: torch.Tensor) -> list[tuple[int, float]]:
    """(step, held-out total loss) from step 0 to `steps`."""
    cfg = trainer.config
    sampler = PositionSampler(len(trainer.paths), cfg.train.seed)
    loader = torch.utils.data.DataLoader(
        PhotoDataset(trainer.paths, cfg.data.image_size), batch_size=cfg.data.batch_size, sampler=sampler,
        num_workers=1, collate_fn=collate,
    )  # fmt: skip
    batches = iter(loader)

    def score() -> float:
        trainer.model.eval()
        with torch.no_grad():
            value = trainer.objective.loss_fn(trainer.model(photos), photos)["total"].item()
        trainer.model.train()
        return value

    curve = [(0, score())]
    print(f"  step 0/{steps}: held-out loss {curve[0][1]:.4f}", flush=True)
    started = time.perf_counter()
    while trainer.step < steps:
        trainer.train_step(next(batches)[0])
        trainer.step += 1
        if trainer.step % every == 0 or trainer.step == steps:
            curve.append((trainer.step, score()))
            rate = trainer.step * cfg.data.batch_size / (time.perf_counter() - started)
            print(f"  step {trainer.step}/{steps}: held-out loss {curve[-1][1]:.4f}, {rate:.1f} img/s", flush=True)
    return curve


def plot(curves: dict[str, list[tuple[int, float]]], path: Path, title: str) -> None:
    """A plain line chart: held-out loss (log scale) against step, one colour per recipe."""
    import math

    width, height, margin = 720, 420, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    steps = max(s for c in curves.values() for s, _ in c)
    values = [v for c in curves.values() for _, v in c]
    low, high = math.log(min(values)), math.log(max(values))

    def xy(step: int, value: float) -> tuple[float, float]:
        x = margin + (width - 2 * margin) * step / steps
        y = height - margin - (height - 2 * margin) * (math.log(value) - low) / max(high - low, 1e-9)
        return x, y

    draw.rectangle((margin, margin, width - margin, height - margin), outline="black")
    for value in (min(values), math.exp((low + high) / 2), max(values)):
        draw.text((4, xy(0, value)[1] - 6), f"{value:.3g}", fill="black")
    for step in (0, steps // 2, steps):
        draw.text((xy(step, min(values))[0] - 10, height - margin + 6), str(step), fill="black")
    draw.text((margin, 20), title, fill="black")
    draw.text((width // 2 - 30, height - 24), "step", fill="black")
    for i, (name, curve) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        draw.line([xy(s, v) for s, v in curve], fill=colour, width=2)
        draw.text((width - margin - 160, margin + 8 + 14 * i), f"--- {name}", fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--recipe", action="append", required=True, metavar="NAME=OVERRIDES")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--size", type=int, help="training crop size (default: the config's)")
    parser.add_argument("--every", type=int, default=10, help="score the held-out batch every N steps")
    parser.add_argument("--plot", required=True, help="PNG to write the curves to")
    args = parser.parse_args()

    curves: dict[str, list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for recipe in args.recipe:
            name, _, overrides = recipe.partition("=")
            fixed = [f"train.steps={args.steps}", f"output.runs_dir={scratch}/{name}", "train.compile=false"]
            if args.size:
                fixed.append(f"data.image_size={args.size}")
            config = load_config(args.config, [*overrides.split(), *fixed])
            print(f"{name}: {overrides or 'the config as it is'}", flush=True)
            trainer = Trainer(config)
            curves[name] = train_curve(trainer, args.steps, args.every, held_out_batch(config).to(trainer.device))
    reference_name, reference = next(iter(curves.items()))
    target = reference[-1][1]
    print(f"\n| recipe | held-out loss at step {args.steps} | first step at or below {reference_name}'s final loss |")
    print("| --- | --- | --- |")
    for name, curve in curves.items():
        reached = next((s for s, v in curve if v <= target), None)
        print(f"| {name} | {curve[-1][1]:.4f} | {reached if reached is not None else 'not reached'} |")
    plot(curves, Path(args.plot), f"{Path(args.config).stem}: held-out loss against step ({args.size or ''} px)")
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
