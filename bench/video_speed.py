"""Video end to end: frames per second for decode, stylize (with the default temporal filter) and H.264 encode.

    python bench/video_speed.py [--models the_scream starry_night] [--sizes 640x360 1280x720] [--frames 24]
        [--no-temporal | --temporal] [--files wave=runs/wave-rt/last.pt ...] [--style-scale 640]
        [--runtimes onnxruntime openvino] [--compare-streams]

The clip is a pan over a demo photo, encoded with PyAV at each size. Each shipped style runs as infer.py runs it
(fst.video.transform_video on Stylizer(exports/<style>.onnx).video()), by default and with --fast where a fast
variant is shipped, stabilized over time and again frame by frame (--temporal or --no-temporal: one of the two;
stabilized, a style with a stable variant runs that network, whose file the path column names);
the baseline, run in the same process on the same clip, is the full network in PyTorch, eager fp32, frame by frame.
--files adds other networks of a style (a realtime one before it ships), timed against that style's baseline.
--style-scale N runs fst's networks as `infer.py --style-scale N` does: on a copy N pixels on the long side, brought
to the frame's size by guided upsampling (fst.guided); the baseline stays at full size. Each of fst's networks runs
in each CPU runtime (fst.runtimes: onnxruntime and OpenVINO where it is installed), a row each.
A video frame by frame in OpenVINO runs several frames at once on its streams, as infer.py does ("at once";
--compare-streams adds a row with one frame at a time on every core).
Columns: end-to-end frames per second and its ratio to the baseline's; the stylizing alone (the same frames decoded
beforehand, stylized with nothing else running) as frames per second; and the ratio of the two, which is 1.0 when
decoding and encoding cost the stylizing nothing (fst.media.pipeline runs them in threads of their own, on the
same cores). The CPU's capability is printed with every figure.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.checkpoint import load_network  # noqa: E402
from fst.data import to_image, to_tensor  # noqa: E402
from fst.errors import FstError  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb  # noqa: E402
from fst.media import in_order  # noqa: E402
from fst.runtimes import RUNTIMES, openvino_installed  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402
from fst.video import transform_video  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def pan_clip(path: Path, size: tuple[int, int], frames: int) -> None:
    """A clip of `frames` frames panning 2 px a frame across the astronaut photo, at 25 frames per second."""
    import av

    width, height = size
    photo = load_rgb(REPO / "data" / "demo" / "astronaut.jpg")
    scale = max((width + 2 * frames) / photo.width, height / photo.height)
    source = np.asarray(photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for t in range(frames):
            image = Image.fromarray(np.ascontiguousarray(source[:height, 2 * t : 2 * t + width]))
            container.mux(stream.encode(av.VideoFrame.from_image(image)))
        container.mux(stream.encode())


def measure(
    stylizer: Stylizer, clip: Path, out: Path, temporal: bool, parallel: bool = True
) -> tuple[float, float, str, int]:
    """(end-to-end frames per second, stylizing-alone frames per second, the file that ran, frames at once) for
    `clip`, as infer.py runs a video: a video may run another network than the stylizer's own (its stable variant),
    several frames at a time where the runtime has streams (unless not `parallel`). The stylizing alone runs on
    the clip's frames decoded beforehand, nothing else running beside it."""
    video = stylizer.video(temporal, parallel)
    start = time.perf_counter()
    frames = transform_video(clip, out, video.stylize, lambda: None, workers=video.parallel)
    end_to_end = frames / (time.perf_counter() - start)
    decoded = decode(clip)
    video = stylizer.video(temporal, parallel)  # afresh: the filter starts again at the first frame
    start = time.perf_counter()
    for _ in in_order(decoded, video.stylize, video.parallel):
        pass
    alone = len(decoded) / (time.perf_counter() - start)
    return end_to_end, alone, Path(getattr(video, "stylizer", stylizer).path).name, video.parallel


def decode(clip: Path) -> list[Image.Image]:
    import av

    with av.open(str(clip)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


class EagerBaseline:
    """The full network in PyTorch, eager fp32, one frame at a time: what a user of pytorch/examples runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.network = load_network(path)

    def video(self, temporal: bool, parallel: bool):
        def stylize(image: Image.Image) -> Image.Image:
            with torch.no_grad():
                return to_image(self.network(to_tensor(image)[None])[0])

        return type("Frames", (), {"stylize": staticmethod(stylize), "parallel": 1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["the_scream", "wave", "starry_night", "udnie"])
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument(
        "--files", nargs="*", default=[], metavar="STYLE=PATH",
        help="other models of a shipped style (a realtime network, say), timed the same way against its full network",
    )  # fmt: skip
    parser.add_argument(
        "--style-scale", type=int, help="run fst's networks on a copy this many pixels on the long side"
    )
    installed = [r for r in RUNTIMES if r != "openvino" or openvino_installed()]
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=installed, help="default: each installed")
    only = parser.add_mutually_exclusive_group()
    parser.add_argument("--compare-streams", action="store_true",
                        help="in OpenVINO, also one frame at a time (without its streams), a row each")
    only.add_argument("--no-temporal", action="store_true", help="only frame by frame, as infer.py --no-temporal")
    only.add_argument("--temporal", action="store_true", help="only stabilized over time, as infer.py by default")
    args = parser.parse_args()
    temporal_modes = [False] if args.no_temporal else [True] if args.temporal else [True, False]
    folder = Path(tempfile.mkdtemp(prefix="fst-video-"))
    capability = cpu_capability()
    print(f"{'model':<14} {'path':<30} {'runtime':<11} {'temporal':<8} {'size':>9} {'at once':>7} "
          f"{'frames/s':>9} {'x eager':>8} {'stylize':>8} {'ratio':>6}  CPU")  # fmt: skip
    for size in args.sizes:
        width, height = map(int, size.split("x"))
        clip = folder / f"clip-{size}.mp4"
        pan_clip(clip, (width, height), args.frames)
        runs = [(name, REPO / "exports" / f"{name}.onnx", fast) for name in args.models for fast in (None, False, True)]
        for spec in args.files:  # STYLE=PATH: timed against STYLE's full network, eagerly
            name, _, path = spec.partition("=")
            runs += [(name, REPO / "exports" / f"{name}.onnx", None), (name, Path(path), False)]
        baseline = 1.0
        timed = [(run, runtime) for run in runs for runtime in ([None] if run[2] is None else args.runtimes)]
        for (name, path, fast), runtime in timed:
            try:
                stylizer = EagerBaseline(path) if fast is None else Stylizer(
                    path, "cpu", fast=fast, style_scale=args.style_scale, runtime=runtime)  # fmt: skip
            except FstError as e:
                print(f"{name:<14} skipped: {e}")
                continue
            parallel_modes = [False, True] if args.compare_streams and runtime == "openvino" else [True]
            for temporal, parallel in itertools.product([False] if fast is None else temporal_modes, parallel_modes):
                end_to_end, stylize_only, ran, at_once = measure(stylizer, clip, folder / "out.mp4", temporal, parallel)
                baseline = end_to_end if fast is None else baseline
                ran = "eager fp32 (baseline)" if fast is None else ran
                print(f"{name:<14} {ran:<30} {runtime or 'pytorch':<11} {'yes' if temporal else 'no':<8} {size:>9} "
                      f"{at_once:>7} {end_to_end:>9.2f} {end_to_end / baseline:>7.2f}x {stylize_only:>8.2f} "
                      f"{end_to_end / stylize_only:>6.2f}  {capability}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
