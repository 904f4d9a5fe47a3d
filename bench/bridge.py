"""From any painting to the realtime path: networks made for one painting, measured under that painting's loss
against the arbitrary model given the same painting.

    python bench/bridge.py --painting ../shared/data/styles/wave.jpg LABEL=MODEL [LABEL=MODEL ...]
        [--count 20] [--size 512] [--grid bridge.jpg]

Each MODEL (an .onnx export or a training checkpoint: a realtime network distilled from the arbitrary model's
outputs, its fine-tune under the painting's loss, a network trained from scratch for the same CPU time) and the
arbitrary model with the painting run on the last --count photos of ../shared/data/photos (held out of every
training run), long side --size. Printed: each one's mean total, content and style loss under the painting's own
training loss (bench/arbitrary.py's loss_for), its ratio to the arbitrary model's, and its time on a 512x512 photo;
a grid of three photos, one column each. Last line: JSON.

Target (issue "any painting"): a realtime network within 1.15x the arbitrary model's total loss, made in at most
one hour of a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from arbitrary import SHARED, TERMS, loss_for, seconds, thumbnail  # noqa: E402  (bench/arbitrary.py)

from fst.data import to_tensor  # noqa: E402
from fst.grid import image_grid  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.optimize import evaluate  # noqa: E402
from fst.photos import find_images, split_holdout  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="LABEL=MODEL", help="the networks to measure, each labelled")
    parser.add_argument("--painting", required=True, help="the painting's image file")
    parser.add_argument("--arbitrary", default=str(REPO / "exports" / "arbitrary.onnx"))
    parser.add_argument("--count", type=int, default=20, help="held-out photos (default 20)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--grid", default="bridge.jpg")
    args = parser.parse_args()
    if not (SHARED / "data" / "photos").is_dir():
        sys.exit(f"needs {SHARED}/data/photos")
    painting = Path(args.painting)
    photos = [resize_long_side(load_rgb(p), args.size)
              for p in split_holdout(find_images(SHARED / "data" / "photos"), args.count)[1]]  # fmt: skip
    loss_fn = loss_for(painting.stem, painting)
    stylizers = {"arbitrary": Stylizer(args.arbitrary, painting=painting, runtime="onnxruntime", device="cpu")}
    for labelled in args.models:
        label, _, model = labelled.partition("=")
        stylizers[label] = Stylizer(model, runtime="onnxruntime" if model.endswith(".onnx") else "auto",
                                    device="cpu", int8=False)  # fmt: skip
    terms: dict[str, list[dict[str, float]]] = {label: [] for label in stylizers}
    columns = [[thumbnail(photo)] for photo in photos[:3]]
    for index, photo in enumerate(photos):
        target = loss_fn.content_target(to_tensor(photo).unsqueeze(0))
        for label, stylizer in stylizers.items():
            out = stylizer.stylize(photo)
            terms[label].append(evaluate(loss_fn, to_tensor(out).unsqueeze(0), target))
            if index < 3:
                columns[index].append(thumbnail(out))
    square = photos[0].resize((512, 512))
    means = {label: {t: statistics.mean(r[t] for r in rows) for t in TERMS} for label, rows in terms.items()}
    print(f"{painting.name}: {len(photos)} held-out photos at {args.size} px, onnxruntime ({cpu_capability()})")
    header = f"{'model':<22} {'total':>8} {'content':>8} {'style':>8} {'x arbitrary':>12} {'512x512':>9}"
    print(header + "\n" + "-" * len(header))
    results = {}
    for label, stylizer in stylizers.items():
        ratio = means[label]["total"] / means["arbitrary"]["total"]
        took = seconds(stylizer, square)
        results[label] = {"means": means[label], "ratio": round(ratio, 3), "seconds_512": round(took, 4)}
        print(f"{label:<22} {means[label]['total']:>8.3f} {means[label]['content']:>8.3f} "
              f"{means[label]['style']:>8.3f} {ratio:>11.2f}x {took * 1000:>7.0f} ms")  # fmt: skip
    image_grid([list(row) for row in zip(*columns)], gap=6).save(args.grid, quality=90)
    print(f"grid: {args.grid} (rows: the photo, then {', '.join(stylizers)})")
    print(json.dumps({"benchmark": "bridge", "painting": str(painting), "photos": len(photos), "size": args.size,
                      "cpu": cpu_capability(), "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
