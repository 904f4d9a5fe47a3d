"""Video: how much stylized frames flicker, per frame against temporally stabilized (fst.temporal).

    python bench/video.py [--models exports/wave.onnx ...] [--frames 30] [--size 320x240]
        [--blends 0.8] [--stroke-sensitivities 20] [--video clip.mp4] [--config CONFIG] [--grid video.jpg]

Clips: synthetic ones with known motion made from the demo photos: a pan (1.5 px right, 0.5 px down a frame), a
zoom (0.6% a frame) and a rotation (0.3 degrees a frame), each frame with its own Gaussian noise of 2/255, as a
camera adds. --video adds a real clip (its first --frames frames, resized to --size).

Measures, for each model, per frame and stabilized with each --blends x --stroke-sensitivities (fst.temporal),
and with the instance-norm statistics held steady over the clip (alone and with the filter; --no-steady-norms
leaves them out):
- warping error (Lai et al. 2018): stylized frame t-1 warped onto frame t along the motion, mean absolute
  difference (0..255) over the pixels visible in both. Synthetic clips use their exact motion; a real clip uses
  DIS optical flow of the input frames with the forward-backward occlusion check of Sundaram et al. 2010.
  The input frames' own warping error is the floor (the noise and the resampling).
- style and content loss of the frames under the model's training loss, so stability bought by washing out the
  style shows;
- milliseconds a frame: the network, and the network plus the filter (ratio in the same process).
Targets: warping error at most half the per-frame one, style loss within 10%, time at most 1.3x.
Where a model has a stable variant beside it (NAME-stable.onnx; NAME-fast-stable.onnx beside a realtime network),
what a video runs in its place (fst.stylize.Stylizer.video), that network is measured too, per frame and with the
rest; every row is a ratio to the model itself per frame, the plain output a user would otherwise get.
Writes a grid (--grid), a row per network: a frame of the pan, its per-frame and stabilized stylization, and their
warping-error maps (x4).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.catalogue import stable_sibling  # noqa: E402
from fst.config import LossConfig, load_config  # noqa: E402
from fst.data import to_tensor  # noqa: E402
from fst.grid import image_grid, labelled  # noqa: E402
from fst.images import from_array, load_rgb, to_array  # noqa: E402
from fst.losses import load_style_image, perceptual_loss  # noqa: E402
from fst.onnxfile import onnx_metadata  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402
from fst.temporal import TemporalFilter, gray, warp  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CLIPS = {"pan": "data/demo/astronaut.jpg", "zoom": "data/demo/chelsea.jpg", "rotation": "data/demo/coffee.jpg"}
NOISE = 2.0  # per-frame noise, in 0..255 levels


def motion(kind: str, t: int, center: tuple[float, float]) -> np.ndarray:
    """The 2x3 affine map from the source photo to frame t (cv2.warpAffine's convention)."""
    angle, scale, shift = 0.0, 1.0, (0.0, 0.0)
    if kind == "pan":
        shift = (-1.5 * t, -0.5 * t)  # the view moves right and down, the scene left and up
    elif kind == "zoom":
        scale = 1.006**t
    else:
        angle = 0.3 * t
    matrix = cv2.getRotationMatrix2D(center, angle, scale)
    matrix[:, 2] += shift
    return matrix


def synthetic_clip(photo: Image.Image, kind: str, frames: int, size: tuple[int, int]) -> tuple[list, list]:
    """(frames as uint8 RGB arrays, exact backward flows): the photo under `kind` of motion, noise on every frame."""
    width, height = size
    margin = 0.5 * frames + 40  # room for the motion and the rotated corners
    cover = max((width + 2 * margin) / photo.width, (height + 2 * margin) / photo.height)
    source = np.asarray(photo.resize((round(photo.width * cover), round(photo.height * cover)), Image.LANCZOS))
    offset = ((source.shape[1] - width) / 2, (source.shape[0] - height) / 2)
    center = (source.shape[1] / 2, source.shape[0] / 2)
    rng = np.random.default_rng(0)
    matrices = [motion(kind, t, center) - np.array([[0, 0, offset[0]], [0, 0, offset[1]]]) for t in range(frames)]
    clip = []
    for matrix in matrices:
        frame = cv2.warpAffine(source, matrix, size, flags=cv2.INTER_CUBIC).astype(np.float32)
        clip.append(np.clip(frame + rng.normal(0, NOISE, frame.shape), 0, 255).round().astype(np.uint8))
    grid = np.stack(np.meshgrid(np.arange(width), np.arange(height)), axis=-1).astype(np.float64)
    flows = []  # where each pixel of frame t was in frame t-1: back to the source, then into frame t-1
    for previous, matrix in zip(matrices, matrices[1:]):
        inverse = cv2.invertAffineTransform(matrix)
        in_source = grid @ inverse[:, :2].T + inverse[:, 2]
        flows.append((in_source @ previous[:, :2].T + previous[:, 2] - grid).astype(np.float32))
    return clip, flows


def read_clip(path: str, frames: int, size: tuple[int, int]) -> tuple[list, list]:
    """(the first frames of a video, resized, as uint8 RGB arrays; their backward flows, occlusions as NaN)."""
    import av

    clip = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            clip.append(np.asarray(frame.to_image().convert("RGB").resize(size, Image.LANCZOS)))
            if len(clip) == frames:
                break
    return clip, [estimated_flow(clip[t], clip[t - 1]) for t in range(1, len(clip))]


def estimated_flow(frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """DIS flow (medium preset) from `frame` back to `previous`, NaN where the forward-backward check fails."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    backward = dis.calc(gray(frame), gray(previous), None)
    forward = dis.calc(gray(previous), gray(frame), None)
    forward_there, _ = warp(forward, backward)
    mismatch = np.square(backward + forward_there).sum(-1)
    consistent = mismatch <= 0.01 * (np.square(backward).sum(-1) + np.square(forward_there).sum(-1)) + 0.5
    return np.where(consistent[..., None], backward, np.nan).astype(np.float32)


def warping_error(frames: list[np.ndarray], flows: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """Mean over t of the mean |frame t - warped frame t-1| over pixels visible in both; the per-frame maps."""
    errors, maps = [], []
    for t, flow in enumerate(flows, 1):
        valid = ~np.isnan(flow[..., 0])
        warped, inside = warp(frames[t - 1].astype(np.float32), np.nan_to_num(flow))
        difference = np.abs(frames[t].astype(np.float32) - warped).mean(-1)
        mask = valid & (inside > 0)
        errors.append(float(difference[mask].mean()))
        maps.append(np.where(mask, difference, 0))
    return statistics.mean(errors), maps


def losses(loss_fn, photos: list[np.ndarray], outputs: list[np.ndarray]) -> dict[str, float]:
    """Mean style and content loss of the stylized frames under the model's training loss."""
    terms = {"style": [], "content": []}
    with torch.no_grad():
        for photo, output in zip(photos, outputs):
            result = loss_fn(
                to_tensor(Image.fromarray(output)).unsqueeze(0), to_tensor(Image.fromarray(photo)).unsqueeze(0)
            )
            for name in terms:
                terms[name].append(float(result[name]))
    return {name: statistics.mean(values) for name, values in terms.items()}


NORM_HOLD = 0.9  # weight of the running instance-norm statistics against the new frame's


def steady_norm_renders(stylizer: Stylizer, frames: list[np.ndarray]) -> list[np.ndarray]:
    """The network with its instance-norm statistics held steady: each frame's own (fst.backends.norm_stats),
    averaged over the frames before it (NORM_HOLD), then applied in place of the frame's own (with_stats).
    Flicker that comes from the statistics moving frame to frame goes; strokes are the network's own."""
    held, renders = None, []
    for frame in frames:
        image = to_array(Image.fromarray(frame))
        stats = stylizer.backend.norm_stats(image)
        held = stats if held is None else [
            (NORM_HOLD * m0 + (1 - NORM_HOLD) * m, NORM_HOLD * v0 + (1 - NORM_HOLD) * v)
            for (m0, v0), (m, v) in zip(held, stats)
        ]  # fmt: skip
        renders.append(np.asarray(from_array(stylizer.backend.with_stats(image, held)[0]), dtype=np.float32))
    return renders


def as_uint8(frame: np.ndarray) -> np.ndarray:
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def error_map(difference: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(difference * 4, 0, 255).astype(np.uint8)).convert("RGB")


def model_loss(model: str, config_path: str | None):
    """The loss of --config, else of configs/pretrained/<name>.yaml (a shipped style), else the defaults with
    data/styles/<name>.jpg; <name> is the style an export names in its metadata (wave-fast.onnx: wave), else the
    file's stem."""
    name = Path(model).stem
    if Path(model).suffix == ".onnx":
        name = onnx_metadata(model).get("style", name)
    shipped = REPO / "configs" / "pretrained" / f"{name}.yaml"
    config_path = config_path or (str(shipped) if shipped.is_file() else None)
    config = load_config(config_path, check_paths=False) if config_path else None
    loss_config = config.loss if config else LossConfig()
    style = str(REPO / config.style_image) if config else str(REPO / "data" / "styles" / f"{name}.jpg")
    return perceptual_loss(loss_config, load_style_image(style, loss_config.style_size), torch.device("cpu"))


def measure(
    stylizer: Stylizer, name: str, loss_fn, clips: dict, blends: list[float], sensitivities: list[float], steady: bool
) -> tuple[dict[str, dict[str, list[float]]], list[Image.Image]]:
    """One network on every clip, per frame and stabilized (each blend x stroke sensitivity, and with steady norms
    if asked): each variant's warping error, style loss and ms a frame, a value per clip; and its row of the grid."""
    totals: dict[str, dict[str, list[float]]] = {}
    row: list[Image.Image] = []
    for kind, (frames, flows) in clips.items():
        network_seconds, renders = 0.0, []
        for frame in frames:
            start = time.perf_counter()
            renders.append(np.asarray(stylizer.render(Image.fromarray(frame)), dtype=np.float32))
            network_seconds += time.perf_counter() - start
        variants = {"per-frame": ([as_uint8(r) for r in renders], 0.0)}
        shown = []
        for blend in blends:
            for sensitivity in sensitivities:
                stabilizer = TemporalFilter(blend, stroke_sensitivity=sensitivity)
                start = time.perf_counter()
                stable = [as_uint8(stabilizer(frame, render)) for frame, render in zip(frames, renders)]
                variants[f"blend {blend:g} stroke {sensitivity:g}"] = (stable, time.perf_counter() - start)
        if steady:
            start = time.perf_counter()
            held = steady_norm_renders(stylizer, frames)
            seconds = time.perf_counter() - start  # both passes, in place of the network's one
            variants["steady norms"] = ([as_uint8(r) for r in held], seconds - network_seconds)
            stabilizer, start = TemporalFilter(), time.perf_counter()
            stable = [as_uint8(stabilizer(frame, render)) for frame, render in zip(frames, held)]
            filtered = time.perf_counter() - start
            variants["steady norms + filter"] = (stable, seconds - network_seconds + filtered)
        for variant, (outputs, filter_seconds) in variants.items():
            error, maps = warping_error(outputs, flows)
            terms = losses(loss_fn, frames, outputs)
            ms = 1000 * (network_seconds + filter_seconds) / len(frames)
            print(f"{name:<14} {kind:<10} {variant:<20} {error:>9.2f} {terms['style']:>8.4f} "
                  f"{terms['content']:>8.4f} {ms:>9.1f}", flush=True)  # fmt: skip
            for key, value in (("error", error), ("style", terms["style"]), ("ms", ms)):
                totals.setdefault(variant, {}).setdefault(key, []).append(value)
            if kind == "pan" and len(shown) < 2:  # per-frame, then the first stabilized variant
                middle = len(frames) // 2
                shown.append((labelled(Image.fromarray(outputs[middle]), f"{name}: {variant}"),
                              labelled(error_map(maps[middle - 1]), f"warping error x4: {error:.2f}")))  # fmt: skip
        if kind == "pan":
            photo = labelled(Image.fromarray(frames[len(frames) // 2]), f"input frame {len(frames) // 2}")
            row = [photo, shown[0][0], shown[1][0], shown[0][1], shown[1][1]]
    return totals, row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    exported = sorted((REPO / "exports").glob("*.onnx"))
    shipped = [p for p in exported if (REPO / "configs" / "pretrained" / f"{p.stem}.yaml").is_file()]
    realtime = [p.with_name(f"{p.stem}-fast.onnx") for p in shipped if p.with_name(f"{p.stem}-fast.onnx").is_file()]
    parser.add_argument("--models", nargs="+", default=[str(p) for p in shipped + realtime],
                        help="default: the shipped styles in exports/ and their realtime networks")  # fmt: skip
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the clips")
    parser.add_argument("--blends", type=float, nargs="+", default=[TemporalFilter().blend])
    parser.add_argument(
        "--stroke-sensitivities", type=float, nargs="+", default=[TemporalFilter().stroke_sensitivity]
    )  # fmt: skip
    parser.add_argument("--video", help="also a real clip (its first --frames frames)")
    parser.add_argument("--config", help="the training config whose loss scores the frames (default: by name)")
    parser.add_argument("--grid", default="video.jpg")
    parser.add_argument("--no-steady-norms", action="store_true", help="leave out the steady instance-norm rows")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))

    clips = {kind: synthetic_clip(load_rgb(REPO / path), kind, args.frames, size) for kind, path in CLIPS.items()}
    if args.video:
        clips[Path(args.video).name] = read_clip(args.video, args.frames, size)
    print(f"{len(clips)} clips of {args.frames} frames at {args.size}, noise {NOISE:g}/255; torch threads "
          f"{torch.get_num_threads()}, CPU capability {torch.backends.cpu.get_cpu_capability()}\n")  # fmt: skip
    for kind, (frames, flows) in clips.items():
        print(f"input {kind}: warping error {warping_error(frames, flows)[0]:.2f} (the floor)")
    header = f"\n{'model':<14} {'clip':<10} {'variant':<20} {'warp err':>9} {'style':>8} {'content':>8} {'ms/frame':>9}"
    print(header + "\n" + "-" * (len(header) - 1))
    summary, grid_rows = [], []
    for model in args.models:
        stylizer, loss_fn, name = Stylizer(model, "cpu", int8=False), model_loss(model, args.config), Path(model).stem
        networks = [(name, stylizer)]
        stable = stable_sibling(Path(model))
        if stable is not None:  # what a video runs: the stable variant frame by frame (and here with the rest)
            networks.append((stable.stem, Stylizer(stable, "cpu", int8=False)))
        base = None
        for network_name, network in networks:
            totals, row = measure(network, network_name, loss_fn, clips, args.blends, args.stroke_sensitivities,
                                  not args.no_steady_norms)  # fmt: skip
            grid_rows.append(row)
            base = base or {key: statistics.mean(values) for key, values in totals["per-frame"].items()}
            for variant, values in totals.items():
                if network is stylizer and variant == "per-frame":
                    continue  # the baseline: every other row of this style is against the shipped network per frame
                means = {key: statistics.mean(v) for key, v in values.items()}
                ratios = {key: means[key] / base[key] for key in means}
                met = ratios["error"] <= 0.5 and abs(ratios["style"] - 1) <= 0.1 and ratios["ms"] <= 1.3
                print(f"{network_name} {variant}: warping error x{ratios['error']:.2f}, style x{ratios['style']:.3f}, "
                      f"time x{ratios['ms']:.2f} against {name} per frame: targets {'met' if met else 'missed'}")  # fmt: skip
                summary.append({"model": name, "network": network_name, "variant": variant,
                                **{k: round(v, 4) for k, v in ratios.items()}})  # fmt: skip
    image_grid(grid_rows, gap=8).save(args.grid, quality=90)
    print(f"\ngrid: {args.grid} (pan clip, middle frame, a row per network: input, per-frame, stabilized, their "
          f"warping errors x4)")  # fmt: skip
    print(json.dumps({"benchmark": "video", "frames": args.frames, "size": args.size, "ratios": summary}))


if __name__ == "__main__":
    main()
