"""Any painting: the arbitrary-style model against each painting's own trained network, under that painting's loss.

    python bench/arbitrary.py [--model exports/arbitrary.onnx] [--count 20] [--size 512] [--grid docs/arbitrary.jpg]

For each painting with a network of its own (the four shipped styles, developed with; candy, mosaic and
rain_princess from ../shared/models, kept out of development and reported apart), on the last --count photos of
../shared/data/photos (held out of every training run), long side --size: the content, style and total loss of both
outputs under the painting's own training loss (configs/pretrained/<style>.yaml; starry_night's loss for the
three others, as ../shared/models/README.md says they were trained), their ratio, and whether any output had a
NaN. Then the time of one 512x512 photo, both models in the same runtime in this process (best of 5), and a grid:
each painting, then for three photos its own network beside the arbitrary model: the four that may ship only
(the held-out three have unclear terms: ../shared/models/README.md; --grid-all adds them, for a grid kept out of
the repository). Last line: JSON.

Targets (issue "any painting"): total loss within 1.5x the painting's network, content within 1.2x; no NaN; a 512x512
photo in at most 3x the network's time and under 1 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.config import load_config  # noqa: E402
from fst.data import to_tensor  # noqa: E402
from fst.grid import image_grid  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.optimize import evaluate  # noqa: E402
from fst.photos import find_images, split_holdout  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DEVELOPED = ("starry_night", "the_scream", "wave", "udnie")
HELD_OUT = ("candy", "mosaic", "rain_princess")  # never looked at while the model was made
TERMS = ("content", "style", "total")


def own_network(name: str) -> Path:
    shipped = REPO / "exports" / f"{name}.onnx"
    return shipped if shipped.is_file() else SHARED / "models" / f"{name}.onnx"


def loss_for(name: str, painting: Path):
    """The painting's training loss: its shipped recipe's, else starry_night's (how ../shared/models made it)."""
    recipe = REPO / "configs" / "pretrained" / f"{name}.yaml"
    config = load_config(recipe if recipe.is_file() else REPO / "configs" / "pretrained" / "starry_night.yaml",
                         check_paths=False)  # fmt: skip
    return perceptual_loss(config.loss, load_style_image(str(painting), config.loss.style_size), "cpu")


def seconds(stylizer: Stylizer, photo: Image.Image, runs: int = 5) -> float:
    stylizer.stylize(photo)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        stylizer.stylize(photo)
        times.append(time.perf_counter() - start)
    return min(times)


def thumbnail(image: Image.Image, height: int = 160) -> Image.Image:
    return image.resize((max(1, round(image.width * height / image.height)), height), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "exports" / "arbitrary.onnx"))
    parser.add_argument("--count", type=int, default=20, help="held-out photos (default 20)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runtime", default="onnxruntime", help="the runtime both models run in (default onnxruntime)")
    parser.add_argument("--grid", default="arbitrary.jpg")
    parser.add_argument("--grid-all", action="store_true", help="the held-out paintings in the grid too")
    args = parser.parse_args()
    if not (SHARED / "data" / "photos").is_dir():
        sys.exit(f"needs {SHARED}/data/photos and {SHARED}/models")
    photos = [resize_long_side(load_rgb(p), args.size)
              for p in split_holdout(find_images(SHARED / "data" / "photos"), args.count)[1]]  # fmt: skip
    square = load_rgb(SHARED / "data" / "photos" / "97033.jpg").resize((512, 512))
    print(f"{args.model}: {len(photos)} held-out photos at {args.size} px, runtime {args.runtime} ({cpu_capability()})")
    header = f"{'painting':<14} {'set':<9} {'total':>7} {'content':>8} {'style':>7} {'time':>6} {'NaN':>4}"
    print(header + "   (ratios: arbitrary / the painting's own network)\n" + "-" * len(header))
    results, rows = {}, []
    for name in DEVELOPED + HELD_OUT:
        painting = SHARED / "data" / "styles" / f"{name}.jpg"
        loss_fn = loss_for(name, painting)
        arbitrary = Stylizer(args.model, painting=painting, runtime=args.runtime, device="cpu")
        own = Stylizer(own_network(name), runtime=args.runtime, device="cpu", int8=False)
        terms = {"arbitrary": [], "own": []}
        nan = False
        row = [thumbnail(load_rgb(painting))]
        for index, photo in enumerate(photos):
            target = loss_fn.content_target(to_tensor(photo).unsqueeze(0))
            for label, stylizer in (("own", own), ("arbitrary", arbitrary)):
                out = stylizer.stylize(photo)
                nan |= not np.isfinite(np.asarray(out, np.float32)).all()
                terms[label].append(evaluate(loss_fn, to_tensor(out).unsqueeze(0), target))
                if index < 3:
                    row.append(thumbnail(out))
        means = {label: {t: statistics.mean(r[t] for r in rows_) for t in TERMS} for label, rows_ in terms.items()}
        ratio = {t: means["arbitrary"][t] / means["own"][t] for t in TERMS}
        timing = seconds(arbitrary, square) / seconds(own, square)
        arbitrary_seconds = seconds(arbitrary, square)
        kind = "developed" if name in DEVELOPED else "held out"
        results[name] = {"set": kind, "ratio": {t: round(v, 3) for t, v in ratio.items()}, "means": means,
                         "time_ratio": round(timing, 2), "seconds_512": round(arbitrary_seconds, 3), "nan": nan}  # fmt: skip
        print(f"{name:<14} {kind:<9} {ratio['total']:>7.2f} {ratio['content']:>8.2f} {ratio['style']:>7.2f} "
              f"{timing:>5.1f}x {'yes' if nan else 'no':>4}   arbitrary {arbitrary_seconds:.2f} s at 512x512", flush=True)
        if name in DEVELOPED or args.grid_all:
            rows.append(row)
    image_grid(rows, gap=6).save(args.grid, quality=90)
    for kind in ("developed", "held out"):
        chosen = [r for r in results.values() if r["set"] == kind]
        worst = {t: max(r["ratio"][t] for r in chosen) for t in ("total", "content")}
        print(f"{kind}: worst total {worst['total']:.2f}x (target 1.5), worst content {worst['content']:.2f}x "
              f"(target 1.2)")  # fmt: skip
    print(f"grid: {args.grid} (painting, then photo by photo: its own network, the arbitrary model)")
    print(json.dumps({"benchmark": "arbitrary", "model": args.model, "photos": len(photos), "size": args.size,
                      "runtime": args.runtime, "cpu": cpu_capability(), "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
