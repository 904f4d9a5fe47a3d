"""Quality of a network of several styles: each style against its own network of one style, and their blends.

    python bench/multistyle.py --model exports/four_styles.onnx [--against exports ...] [--blend starry_night wave]
        [--photos FILE_OR_DIR ...] [--size 256] [--grid docs/four_styles.jpg] [--curve docs/four_styles-blend.png]
        [--compare candy=runs/candy/last.pt ...] [--paintings ../shared/data/styles]

For each style the model holds (names from its metadata): the mean total loss under that style's own training loss
(configs/pretrained/<style>.yaml and its painting; for a style without one, the default loss and
<paintings>/<style>.jpg) of the model with that style alone, of <style>.onnx in the first --against folder that holds
one (the style's network of one style), and of any --compare network of that style, on the same photos
(default: bench/quality.py's make-bench set, 3 classic photos, 3 held-out BSDS photos and chelsea, at 256 px);
their ratio, against the target of 1.15 or less. Then a blend of two styles at weights 0, 0.25, 0.5, 0.75 and 1:
its loss under each of the two styles' losses, which should move smoothly from one end to the other (--curve
draws it). The grid: a demo photo per row, then each style, then the
blends. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.blend import style_names  # noqa: E402
from fst.checkpoint import load_network  # noqa: E402
from fst.config import LossConfig, load_config  # noqa: E402
from fst.data import to_image, to_tensor  # noqa: E402
from fst.grid import image_grid, labelled  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.optimize import evaluate  # noqa: E402
from fst.photos import find_images  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
TARGET = 1.15


def default_photos() -> list[Path]:
    """The make-bench quality photos (Makefile's QUALITY): shared classics, 3 held-out BSDS photos, chelsea."""
    if not SHARED.is_dir():
        sys.exit(f"no photos: {SHARED} is missing; pass --photos")
    held_out = [SHARED / "photos" / f"{n}.jpg" for n in (95006, 97017, 97033)]
    return find_images(SHARED / "content") + held_out + [REPO / "data" / "demo" / "chelsea.jpg"]


def style_loss_of(style: str, configs: Path, paintings: Path):
    """The training loss of `style`: its pretrained config's loss section and painting, else the default loss
    (which the pretrained configs keep) and the painting of its name."""
    path = configs / f"{style}.yaml"
    loss, image = LossConfig(), paintings / f"{style}.jpg"
    if path.is_file():
        config = load_config(path, check_paths=False)
        loss, image = config.loss, config.style_image
    return perceptual_loss(loss, load_style_image(str(image), loss.style_size), "cpu")


def mean_total(network, photos: list[torch.Tensor], loss_fn, weights: torch.Tensor | None = None) -> float:
    """The network's mean total loss over the photos (with these style weights, for a network of several)."""
    totals = []
    with torch.no_grad():
        for photo in photos:
            output = network(photo) if weights is None else network(photo, weights)
            totals.append(evaluate(loss_fn, output, loss_fn.content_target(photo))["total"])
    return statistics.mean(totals)


def curve(points: dict[str, list[float]], names: tuple[str, str], path: Path) -> None:
    """A plain line chart of the blend's loss under each style's loss, against the second style's weight."""
    width, height, margin = 480, 330, 78
    top, low = max(max(v) for v in points.values()), min(min(v) for v in points.values())
    chart = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(chart)
    draw.rectangle([48, 16, width - 16, height - margin], outline="black")

    def xy(i: int, value: float) -> tuple[float, float]:
        x = 48 + (width - 64) * BLEND_WEIGHTS[i]
        return x, height - margin - (height - margin - 16) * (value - low) / max(top - low, 1e-9)

    for (style, values), colour in zip(points.items(), ("#1f4e9c", "#c0392b")):
        draw.line([xy(i, v) for i, v in enumerate(values)], fill=colour, width=3)
        for i, v in enumerate(values):
            x, y = xy(i, v)
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        legend = height - 30 + 14 * list(points).index(style)  # below the axis, where no line runs
        draw.text((48, legend), f"total loss under {style}'s loss", fill=colour)
    for w in BLEND_WEIGHTS:
        draw.text((48 + (width - 64) * w - 8, height - margin + 6), f"{w:g}", fill="black")
    draw.text((48, height - margin + 22), f"weight of {names[1]} (1 - weight of {names[0]})", fill="black")
    draw.text((4, 16), f"{top:.2f}", fill="black")
    draw.text((4, height - margin - 10), f"{low:.2f}", fill="black")
    chart.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model of several styles (.onnx or checkpoint)")
    parser.add_argument("--against", nargs="+", default=[str(REPO / "exports")], help="folders of own networks")
    parser.add_argument("--configs", default=str(REPO / "configs" / "pretrained"), help="folder of <style>.yaml")
    parser.add_argument("--paintings", default=str(SHARED / "styles"), help="<style>.jpg for styles without config")
    parser.add_argument("--compare", nargs="+", default=[], metavar="STYLE=MODEL", help="more networks of a style")
    parser.add_argument("--blend", nargs=2, metavar="STYLE", help="the two styles to blend (default: the first two)")
    parser.add_argument("--photos", nargs="+", help="photo files or folders (default: the make-bench quality set)")
    parser.add_argument("--size", type=int, default=256, help="long side in pixels (default 256)")
    parser.add_argument("--grid", default="multistyle.jpg", help="where to write the picture grid")
    parser.add_argument("--curve", default="multistyle-blend.png", help="where to write the blend curve")
    args = parser.parse_args()

    names = style_names(args.model)
    if not names:
        sys.exit(f"{args.model} holds one style: this benchmark is for a model of several")
    model = load_network(args.model)
    paths = [p for n in args.photos for p in (find_images(n) if Path(n).is_dir() else [Path(n)])] \
        if args.photos else default_photos()  # fmt: skip
    photos = [to_tensor(resize_long_side(load_rgb(p), args.size))[None] for p in paths]
    print(f"model {args.model}: {', '.join(names)}; {len(photos)} photos at {args.size} px ({cpu_capability()})\n")
    losses = {style: style_loss_of(style, Path(args.configs), Path(args.paintings)) for style in names}
    eye = torch.eye(len(names))
    header = f"{'style':<14} {'several':>9} {'own':>9} {'ratio':>7}"
    print(header + "\n" + "-" * len(header))
    summary: dict = {"styles": {}}
    compared = [item.split("=", 1) for item in args.compare]
    for i, style in enumerate(names):
        own_path = next((p for p in (Path(f) / f"{style}.onnx" for f in args.against) if p.is_file()), None)
        several = mean_total(model, photos, losses[style], eye[i])
        row = {"several": round(several, 4)}
        if own_path is not None:
            own = mean_total(load_network(own_path), photos, losses[style])
            row |= {"own": round(own, 4), "ratio": round(several / own, 3)}
        summary["styles"][style] = row
        own_text = f"{row['own']:>9.4f} {row['ratio']:>7.3f}" if "own" in row else f"{'-':>9} {'-':>7}"
        print(f"{style:<14} {several:>9.4f} {own_text}", flush=True)
        for name, path in (c for c in compared if c[0] == style):
            other = mean_total(load_network(path), photos, losses[style])
            row.setdefault("compared", {})[path] = round(other, 4)
            ratio = f" ({other / row['own']:.3f}x own)" if "own" in row else ""
            print(f"  {path}: {other:.4f}{ratio}", flush=True)

    first, second = args.blend or names[:2]
    a, b = names.index(first), names.index(second)
    points: dict[str, list[float]] = {first: [], second: []}
    print(f"\nblend {first} -> {second}: total loss under each style's loss")
    for w in BLEND_WEIGHTS:
        weights = eye[a] * (1 - w) + eye[b] * w
        for style in (first, second):
            points[style].append(mean_total(model, photos, losses[style], weights))
        print(f"  weight {w:<5g} {first} {points[first][-1]:.4f}  {second} {points[second][-1]:.4f}", flush=True)
    summary["blend"] = {"styles": [first, second], "weights": BLEND_WEIGHTS,
                        **{s: [round(v, 4) for v in vs] for s, vs in points.items()}}  # fmt: skip
    curve(points, (first, second), Path(args.curve))

    rows = []
    demo = [REPO / "data" / "demo" / f"{name}.jpg" for name in ("chelsea", "astronaut", "coffee")]
    for path in demo:  # photos that may be shown anywhere (data/CREDITS.md)
        photo = to_tensor(resize_long_side(load_rgb(path), args.size))[None]
        with torch.no_grad():
            cells = [labelled(to_image(photo[0]), "photo")]
            cells += [labelled(to_image(model(photo, eye[i])[0]), style) for i, style in enumerate(names)]
            for w in BLEND_WEIGHTS[1:-1]:
                blend = to_image(model(photo, eye[a] * (1 - w) + eye[b] * w)[0])
                cells.append(labelled(blend, f"{first} {1 - w:g} + {second} {w:g}"))
        rows.append(cells)
    image_grid(rows).save(args.grid)
    ratios = [row["ratio"] for row in summary["styles"].values() if "ratio" in row]
    if ratios:
        met = max(ratios) <= TARGET
        print(f"\ntarget: every style within {TARGET:g}x its own network's loss: {'met' if met else 'missed'} "
              f"(worst {max(ratios):.3f})")  # fmt: skip
    print(f"grid: {args.grid}; blend curve: {args.curve}")
    print(json.dumps({"model": str(args.model), "cpu": cpu_capability(), **summary}))


if __name__ == "__main__":
    main()
