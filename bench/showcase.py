"""Picture grid of networks side by side: the photos on the first row, one row per model, each cell labelled.

    python bench/showcase.py --models exports/starry_night.onnx exports/wave.onnx \\
        --photos data/demo/chelsea.jpg data/demo/astronaut.jpg --out exports/samples/styles.jpg

This is what a person looks at to judge a network: strokes, colours, blobs, grid patterns, whether the scene is
still there. --labels names the rows (default: the model file names).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fst.data import center_crop, load_rgb
from fst.grid import image_grid, labelled
from fst.stylize import Stylizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True, help=".onnx files or checkpoints")
    parser.add_argument("--labels", nargs="+", help="one per model")
    parser.add_argument("--photos", nargs="+", required=True)
    parser.add_argument("--size", type=int, default=320, help="side of each square cell, pixels")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    labels = args.labels or [Path(m).stem for m in args.models]
    if len(labels) != len(args.models):
        parser.error("--labels needs one label per model")

    photos = [center_crop(load_rgb(p), args.size) for p in args.photos]  # equal squares make a tidy grid
    rows = [[labelled(p, f"photo: {Path(name).name}") for p, name in zip(photos, args.photos)]]
    for model, label in zip(args.models, labels):
        stylizer = Stylizer(model, "cpu", int8=False)
        rows.append([labelled(stylizer.stylize(p), label) for p in photos])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows).save(args.out, quality=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
