"""What the eye sees of each shipped style, measured apart from the training loss (fst.looks): structure kept,
subject structure, halo and smear around strong edges, stroke size against the painting's; on portraits,
buildings, animals and held-out BSDS photos at 512 px, with grids to look at.

    python bench/looks.py [--styles starry_night the_scream wave udnie] [--size 512] [--fast]
        [--models LABEL=FILE ...] [--grid docs/looks.jpg]

Photos: astronaut (portrait), rocket (building) and chelsea (animal) from data/demo; from ../shared where it is
there, amber (portrait), chicago and hoovertowernight (buildings) and three BSDS photos held out of training.
Each style runs as fst-infer runs it (the default network, or --fast); `--models` adds networks by file (a recipe
under study), each against the painting its metadata names. The table gives each measure per style and kind of
photo (the mean over its photos); the painting's stroke size is its own at the size its network learnt it from
(the long side at 512); "style closed" is the share of the photo's style loss (the training loss's style term
against the painting, at --style-size: 512, the shipped recipes' loss.style_size) that the picture removes, beside
the look measures, not their judge. The grid: a row per photo of data/demo (the photos of ../shared may not be copied,
nor pictures of them), the photo then each style, at 512 px shrunk to fit; a second grid (`-crops`) the centre
of each at 100%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from fst.config import LossConfig  # noqa: E402
from fst.data import to_tensor  # noqa: E402
from fst.grid import image_grid, labelled  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.looks import halo, luminance, stroke_size, structure, subject_structure  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.onnxfile import onnx_metadata  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
KINDS = {
    "portrait": [REPO / "data/demo/astronaut.jpg", SHARED / "content/amber.jpg"],
    "building": [REPO / "data/demo/rocket.jpg", SHARED / "content/chicago.jpg",
                 SHARED / "content/hoovertowernight.jpg"],
    "animal": [REPO / "data/demo/chelsea.jpg"],
    "held-out BSDS": [SHARED / "photos" / name for name in ("86000.jpg", "87065.jpg", "95006.jpg")],
}
CELL, CROP = 256, 192


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--styles", nargs="+", default=["starry_night", "the_scream", "wave", "udnie"])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fast", action="store_true", help="the realtime networks")
    parser.add_argument("--models", nargs="*", default=[], metavar="LABEL=FILE", help="networks by file, also")
    parser.add_argument("--style-size", type=int, default=512, help="the painting's long side for the style loss")
    parser.add_argument("--grid", help="write the grid here (and its 100%% crops beside it)")
    args = parser.parse_args()
    photos = [(kind, path) for kind, paths in KINDS.items() for path in paths if path.is_file()]
    missing = sum(len(paths) for paths in KINDS.values()) - len(photos)
    if missing:
        print(f"{missing} photos of ../shared are not here: measured on the {len(photos)} that are")
    stylizers = {style: Stylizer(style, fast=args.fast) for style in args.styles}
    paintings = {style: REPO / "data/styles" / f"{style}.jpg" for style in args.styles}
    for item in args.models:
        label, _, file = item.partition("=")
        stylizers[label] = Stylizer(file)
        paintings[label] = REPO / "data/styles" / onnx_metadata(file)["style_image"]
    losses = {label: style_loss(painting, args.style_size) for label, painting in paintings.items()}
    rows, crops, found = [], [], {}
    for kind, path in photos:
        photo = resize_long_side(load_rgb(path), args.size)
        row, crop_row = [labelled(shrunk(photo), f"{path.stem} ({kind})")], [labelled(centre(photo), "photo")]
        for style, stylizer in stylizers.items():
            picture = stylizer.stylize(photo)
            a, b = luminance(photo), luminance(picture)
            closed = 1 - losses[style](picture) / losses[style](photo)  # of the photo's distance to the painting
            measures = (structure(a, b), subject_structure(a, b), halo(a, b), stroke_size(b), closed)
            found.setdefault((style, kind), []).append(measures)
            row.append(labelled(shrunk(picture), style))
            crop_row.append(labelled(centre(picture), f"{style}, 100%"))
        if path.is_relative_to(REPO):  # ../shared's photos are measured, never drawn into the repository's grids
            rows.append(row)
            crops.append(crop_row)
    print(f"\n{'fast' if args.fast else 'default'} networks, {args.size} px: the mean over each kind's photos")
    print(f"| style | kind | photos | structure kept | subject structure | halo | stroke size px | the painting's "
          f"| style closed at {args.style_size} |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (style, kind), values in found.items():
        painting = stroke_size(luminance(resize_long_side(load_rgb(paintings[style]), 512)))
        means = [statistics.mean(v[i] for v in values) for i in range(5)]
        figures = (f"{means[0]:.3f} | {means[1]:.3f} | {means[2]:.2f} | {means[3]:.1f} | {painting:.1f} | "
                   f"{means[4]:.3f}")
        print(f"| {style} | {kind} | {len(values)} | {figures} |")
    if args.grid:
        image_grid(rows).save(args.grid, quality=88)
        crops_path = Path(args.grid).with_name(Path(args.grid).stem + "-crops" + Path(args.grid).suffix)
        image_grid(crops).save(crops_path, quality=88)
        print(f"wrote {args.grid} and {crops_path}")


def style_loss(painting: Path, size: int):
    """The training loss's style term (the default layers and weights) of a picture against `painting` at `size`."""
    loss = perceptual_loss(LossConfig(), load_style_image(str(painting), size), torch.device("cpu"))

    @torch.no_grad()
    def scored(picture: Image.Image) -> float:
        image = to_tensor(picture)[None]
        return float(loss(image, image)["style"])

    return scored


def shrunk(image: Image.Image) -> Image.Image:
    return image.resize((CELL, round(CELL * image.height / image.width)), Image.Resampling.LANCZOS)


def centre(image: Image.Image) -> Image.Image:
    left, top = (image.width - CROP) // 2, (image.height - CROP) // 2
    return image.crop((left, top, left + CROP, top + CROP))


if __name__ == "__main__":
    main()
