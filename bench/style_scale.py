"""Stroke size at any resolution: one photo at 1, 4 and 16 megapixels, stylized at full resolution
(--style-scale full) and at the default style scale (1280, or --style-scale N).

    python bench/style_scale.py --model exports/starry_night.onnx --photo data/demo/rocket.jpg \\
        --out docs/style-scale.jpg [--style-scale 1280]

Every cell shows the whole output scaled to the same width, as a person sees a photo on a screen; a second grid
(`--out` with `-crops` added) shows the centre of each output at 100%. Without a style scale the network's strokes
keep their size in pixels, so at 16 MP they shrink to a fine texture; with it they keep their size against the
picture. Prints the seconds each output took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.grid import image_grid, labelled  # noqa: E402
from fst.images import load_rgb  # noqa: E402
from fst.options import STYLE_SCALE  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

MEGAPIXELS = (1, 4, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--style-scale", type=int, default=STYLE_SCALE)
    parser.add_argument("--cell", type=int, default=360, help="width of each cell, pixels")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    photo = load_rgb(args.photo)
    aspect = photo.height / photo.width
    rows, crops = [], []
    for style_scale in (None, args.style_scale):
        stylizer = Stylizer(args.model, "cpu", style_scale=style_scale, int8=False)
        row, crop_row = [], []
        for megapixels in MEGAPIXELS:
            width = round((megapixels * 1e6 / aspect) ** 0.5)
            large = photo.resize((width, round(width * aspect)), Image.Resampling.BICUBIC)
            start = time.perf_counter()
            out = stylizer.stylize(large)
            seconds = time.perf_counter() - start
            how = f"--style-scale {style_scale}" if style_scale else "--style-scale full"
            print(f"{megapixels:>3} MP {large.width}x{large.height} {how}: {seconds:.1f} s", flush=True)
            label = f"{megapixels} MP ({large.width}x{large.height})\n{how}"
            row.append(labelled(out.resize((args.cell, round(args.cell * aspect)), Image.Resampling.LANCZOS), label))
            left, top = (out.width - args.cell) // 2, (out.height - args.cell) // 2
            crop_row.append(labelled(out.crop((left, top, left + args.cell, top + args.cell)), label + ", 100%"))
        rows.append(row)
        crops.append(crop_row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows).save(out, quality=88)
    crops_path = out.with_name(out.stem + "-crops" + out.suffix)
    image_grid(crops).save(crops_path, quality=88)
    print(f"wrote {out} and {crops_path}")


if __name__ == "__main__":
    main()
