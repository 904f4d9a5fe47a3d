"""Picture grid of networks side by side: the photos on the first row, one row per model, each cell labelled.

    python bench/showcase.py --models exports/starry_night.onnx exports/wave.onnx \\
        --photos data/demo/chelsea.jpg data/demo/astronaut.jpg --out exports/samples/styles.jpg

This is what a person looks at to judge a network: strokes, colours, blobs, grid patterns, whether the scene is
still there. --labels names the rows (default: the model file names). A model may carry Stylizer options after a
`?`: `exports/starry_night.onnx?strength=0.6`, `...?preserve_colors=1`. --by-photo gives one row per photo (the
photo, then each model) instead: the gallery of docs/benchmarks.md,

    python bench/showcase.py --by-photo --photos data/demo/chelsea.jpg data/demo/rocket.jpg --size 256 \
        --models exports/{starry_night,the_scream,wave,udnie}.onnx "exports/starry_night.onnx?strength=0.5" \
        "exports/the_scream.onnx?preserve_colors=1" --out docs/gallery.jpg

and --paintings gives one row per model: its painting (data/styles/, named by the model's metadata), one photo
(the models take the photos in turn) and the result: the README's first picture (docs/styles.jpg),

    python bench/showcase.py --paintings --size 256 --models exports/{starry_night,the_scream,wave,udnie}.onnx \
        --photos data/demo/{chelsea,astronaut,coffee,rocket}.jpg --out docs/styles.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fst.data import center_crop
from fst.grid import image_grid, labelled
from fst.images import load_rgb
from fst.onnxfile import onnx_metadata
from fst.stylize import Stylizer


def stylizer(spec: str) -> Stylizer:
    """`path` or `path?key=value&key=value`: the model with those Stylizer options, on the CPU, in fp32."""
    path, _, query = spec.partition("?")
    options = {key: float(value) for key, _, value in (item.partition("=") for item in query.split("&") if item)}
    if "preserve_colors" in options:
        options["preserve_colors"] = bool(options["preserve_colors"])
    return Stylizer(path, "cpu", int8=False, **options)


def label_of(spec: str) -> str:
    """`starry_night`, `starry_night\nstrength 0.5`: the model's name, then its options."""
    path, _, query = spec.partition("?")
    options = [item.replace("=", " ").replace("preserve_colors 1", "preserve colours") for item in query.split("&")]
    return "\n".join([Path(path).stem, ", ".join(o for o in options if o)]).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True, help=".onnx files or checkpoints")
    parser.add_argument("--labels", nargs="+", help="one per model")
    parser.add_argument("--photos", nargs="+", required=True)
    parser.add_argument("--size", type=int, default=320, help="side of each square cell, pixels")
    parser.add_argument("--by-photo", action="store_true", help="a row per photo, a column per model")
    parser.add_argument("--paintings", action="store_true", help="a row per model: painting, photo, result")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    labels = args.labels or [label_of(m) for m in args.models]
    if len(labels) != len(args.models):
        parser.error("--labels needs one label per model")

    photos = [center_crop(load_rgb(p), args.size) for p in args.photos]  # equal squares make a tidy grid
    if args.paintings:
        rows = []
        for i, (model, label) in enumerate(zip(args.models, labels)):
            style_image = Path("data/styles") / onnx_metadata(model.partition("?")[0])["style_image"]
            photo, name = photos[i % len(photos)], Path(args.photos[i % len(photos)]).name
            painting = labelled(center_crop(load_rgb(style_image), args.size), f"painting: {style_image.name}")
            rows.append([painting, labelled(photo, f"photo: {name}"), labelled(stylizer(model).stylize(photo), label)])
        save(rows, args.out)
        return
    originals = [labelled(p, f"photo: {Path(name).name}") for p, name in zip(photos, args.photos)]
    rows = [[labelled(stylizer(model).stylize(p), label) for p in photos] for model, label in zip(args.models, labels)]
    rows = [list(row) for row in zip(originals, *rows)] if args.by_photo else [originals, *rows]
    save(rows, args.out)


def save(rows: list, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows).save(out, quality=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
