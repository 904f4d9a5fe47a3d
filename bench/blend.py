"""How much of each style a blend shows: the share of the picture a weight gives, fed to the network as it is and as
fst.blend feeds it (through presence()), on pairs of the four-style model's styles.

    python bench/blend.py [--model four_styles] [--photos data/demo/chelsea.jpg ...] [--size 256]
        [--strip docs/blend.jpg]

A style's share of a blend of A and B at weight w of B: the projection of the picture's VGG16 features (relu3_3 and
relu4_3, each scaled to unit length: the motifs a person sees, not the colours alone) onto the way from A's picture
to B's, 0 at A's and 1 at B's, averaged over the photos. Fed as it is, the share follows smoothstep(w): small
weights barely show. Through presence() it should follow w. The strip shows starry_night to wave on the first
photo, fed both ways, to look at.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.blend import presence, style_names  # noqa: E402
from fst.catalogue import find_model  # noqa: E402
from fst.grid import image_grid, labelled  # noqa: E402
from fst.images import from_array, load_rgb, to_array  # noqa: E402
from fst.onnxrun import onnx_session  # noqa: E402
from fst.vgg import load_vgg16  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = np.linspace(0, 1, 11)
LAYERS = ("relu3_3", "relu4_3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="four_styles")
    parser.add_argument("--photos", nargs="+", default=[str(REPO / "data" / "demo" / f"{name}.jpg")
                                                         for name in ("chelsea", "astronaut", "coffee")])  # fmt: skip
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--strip", help="write the starry_night-to-wave strip here")
    args = parser.parse_args()
    path = find_model(args.model)
    names = style_names(path)
    session, vgg = onnx_session(path), load_vgg16("bundled", LAYERS[-1])
    photos = [to_array(load_rgb(p).resize((args.size, args.size), Image.Resampling.LANCZOS)) for p in args.photos]

    def picture(photo: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return session.run(None, {"image": photo, "style": weights.astype(np.float32)})[0]

    def features(image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            found = vgg(torch.from_numpy(image), LAYERS)
        return np.concatenate([(found[name] / found[name].norm()).flatten().numpy() for name in LAYERS])

    def shares(a: int, b: int, fed) -> np.ndarray:
        curves = []
        for photo in photos:
            points = [features(picture(photo, fed(pair(a, b, w, len(names))))) for w in WEIGHTS]
            way = points[-1] - points[0]
            curves.append([float((p - points[0]) @ way / (way @ way)) for p in points])
        return np.mean(curves, axis=0)

    print(f"{path.name}, {len(photos)} photos at {args.size}: a style's share of the picture at each weight")
    print("| pair | fed | " + " | ".join(f"{w:.1f}" for w in WEIGHTS) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in WEIGHTS) + " |")
    for a, b in itertools.permutations(range(len(names)), 2):
        for label, fed in (("as asked", lambda w: w), ("presence()", presence)):
            curve = shares(a, b, fed)
            print(f"| {names[a]} -> {names[b]} | {label} | " + " | ".join(f"{s:.2f}" for s in curve) + " |", flush=True)
    if args.strip:
        a, b = names.index("starry_night"), names.index("wave")
        rows = []
        for label, fed in (("as asked", lambda w: w), ("presence()", presence)):
            row = [labelled(from_array(picture(photos[0], fed(pair(a, b, w, len(names))))[0]), f"wave {w:.1f}, {label}")
                   for w in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)]  # fmt: skip
            rows.append(row)
        image_grid(rows).save(args.strip, quality=88)
        print(f"wrote {args.strip}")


def pair(a: int, b: int, w: float, count: int) -> np.ndarray:
    weights = np.zeros(count)
    weights[a], weights[b] = 1 - w, w
    return weights


if __name__ == "__main__":
    main()
