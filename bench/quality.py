"""Quality: a trained network's perceptual loss against Gatys et al.'s optimization under the same loss.

    python bench/quality.py --model runs/wave/last.pt [--style data/styles/wave.jpg] [--photos DIR_OR_FILE ...]
        [--size 512] [--iters 50 100 300] [--grid quality.png]

For each photo (default: ../shared/data/content and the last 20 photos of ../shared/data/photos, which the
configs in configs/pretrained hold out of training with `data.holdout: 20`), long side resized to
--size: the content, style and total loss of the network's output, and of the optimized image after each of
--iters L-BFGS iterations (one run per photo, read off at each count), with seconds per image for both. Prints a
table, writes a grid (photo, network, Gatys at 100 iterations and at the last count), and last one JSON line.
Johnson et al. (2016) report that their networks reach the loss of 50 to 100 iterations; the target here is a
total loss no worse than Gatys after 100.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.checkpoint import load_checkpoint  # noqa: E402
from fst.config import LossConfig, config_from_dict, load_config  # noqa: E402
from fst.data import to_image, to_tensor  # noqa: E402
from fst.grid import image_grid  # noqa: E402
from fst.hardware import cpu_capability, resolve_device  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.optimize import evaluate, optimize_image  # noqa: E402
from fst.photos import find_images, split_holdout  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
TERMS = ("content", "style", "total")


def default_photos(count: int) -> list[Path]:
    """../shared/data/content, then the last `count` of ../shared/data/photos: the shipped configs' `data.holdout`."""
    content = find_images(SHARED / "content") if (SHARED / "content").is_dir() else []
    held_out = []
    if count and (SHARED / "photos").is_dir():
        held_out = split_holdout(find_images(SHARED / "photos"), count)[1]
    if not content and not held_out:
        sys.exit(f"no photos: {SHARED} is missing; pass --photos")
    return content + held_out


def loss_settings(args: argparse.Namespace) -> tuple[LossConfig, str]:
    """The loss the network was trained with (from its checkpoint), unless --config says otherwise."""
    if args.config:
        config = load_config(args.config, check_paths=False)
        return config.loss, args.style or config.style_image
    if args.model.endswith(".pt"):
        config = config_from_dict(load_checkpoint(args.model)["config"], check_paths=False)
        return config.loss, args.style or config.style_image
    if not args.style:
        sys.exit("an .onnx model needs --style (and --config for a loss other than the defaults)")
    return LossConfig(), args.style


def thumbnail(image: Image.Image, height: int = 192) -> Image.Image:
    return image.resize((max(1, round(image.width * height / image.height)), height), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="checkpoint .pt or exported .onnx")
    parser.add_argument("--style", help="style image (default: the checkpoint's style_image)")
    parser.add_argument("--config", help="training config whose loss section to use (default: the checkpoint's)")
    parser.add_argument("--photos", nargs="+", help="photo files or folders (default: shared content + photos)")
    parser.add_argument("--count", type=int, default=20, help="the last N of ../shared/data/photos (default 20)")
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default 512)")
    parser.add_argument("--iters", type=int, nargs="+", default=[50, 100, 300], help="Gatys iteration counts")
    parser.add_argument("--grid", default="quality.png", help="where to write the side-by-side grid")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    loss_config, style_path = loss_settings(args)
    device = resolve_device(args.device)
    loss_fn = perceptual_loss(loss_config, load_style_image(style_path, loss_config.style_size), device)
    stylizer = Stylizer(args.model, "cuda" if device.type == "cuda" else "cpu", int8=False)  # the file given
    paths = [p for name in args.photos for p in (find_images(name) if Path(name).is_dir() else [Path(name)])] \
        if args.photos else default_photos(args.count)  # fmt: skip
    counts = sorted(set(args.iters))
    reference = 100 if 100 in counts else counts[len(counts) // 2]  # the target's Gatys count
    shown = sorted({reference, counts[-1]})  # Gatys columns of the grid
    results: dict[str, list[dict[str, float]]] = {"network": [], **{f"gatys_{n}": [] for n in counts}}
    seconds: dict[str, list[float]] = {"network": [], "gatys": []}
    rows = []
    print(f"model {args.model}, style {style_path}, {len(paths)} photos at {args.size} px, {device}", end=" ")
    print(f"({cpu_capability()})\n")
    for index, path in enumerate(paths, 1):
        photo_image = resize_long_side(load_rgb(path), args.size)
        photo = to_tensor(photo_image).unsqueeze(0).to(device)
        target = loss_fn.content_target(photo)
        start = time.perf_counter()
        stylized = stylizer.stylize(photo_image)
        seconds["network"].append(time.perf_counter() - start)
        results["network"].append(evaluate(loss_fn, to_tensor(stylized).unsqueeze(0).to(device), target))

        snapshots: dict[int, torch.Tensor] = {}

        def keep(iteration: int, _terms: dict[str, float], image: torch.Tensor) -> None:
            if iteration in counts:
                snapshots[iteration] = image.clamp(0, 1).clone()

        start = time.perf_counter()
        optimize_image(photo, loss_fn, counts[-1], on_iteration=keep)
        seconds["gatys"].append(time.perf_counter() - start)
        for n in counts:
            results[f"gatys_{n}"].append(evaluate(loss_fn, snapshots[n], target))
        row = [photo_image, stylized, *(to_image(snapshots[n][0]) for n in shown)]
        rows.append([thumbnail(image) for image in row])
        net, gat = results["network"][-1]["total"], results[f"gatys_{reference}"][-1]["total"]
        print(f"[{index}/{len(paths)}] {path.name}: network {net:.4g}, Gatys {reference} {gat:.4g}", flush=True)

    header = f"{'method':<14} {'content':>9} {'style':>9} {'total':>9} {'s/image':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    summary = {}
    for method, terms in results.items():
        means = {t: statistics.mean(r[t] for r in terms) for t in TERMS}
        per_image = statistics.mean(seconds["network"]) if method == "network" else None
        if method.startswith("gatys_"):  # one optimization run per photo, its time shared in proportion
            per_image = statistics.mean(seconds["gatys"]) * int(method[6:]) / counts[-1]
        summary[method] = {**{t: round(v, 5) for t, v in means.items()}, "seconds_per_image": round(per_image, 3)}
        name = method.replace("gatys_", "Gatys ")
        print(f"{name:<14} {means['content']:>9.4f} {means['style']:>9.4f} {means['total']:>9.4f} {per_image:>9.2f}")

    image_grid(rows, gap=8).save(args.grid)
    target = summary[f"gatys_{reference}"]["total"]
    verdict = summary["network"]["total"] <= target
    print(f"\ngrid: {args.grid} (photo, network, {', '.join(f'Gatys {n}' for n in shown)})")
    print(f"target: network total loss <= Gatys {reference}: {'met' if verdict else 'missed'} "
          f"({summary['network']['total']:.4f} vs {target:.4f})")  # fmt: skip
    print(json.dumps({"benchmark": "quality", "model": args.model, "style": style_path, "photos": len(paths),
                      "size": args.size, "cpu": cpu_capability(), "results": summary,
                      "target_met": verdict}))  # fmt: skip


if __name__ == "__main__":
    main()
