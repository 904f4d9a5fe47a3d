"""Video end to end: frames per second for decode, stylize (with the default temporal filter) and H.264 encode.

    python bench/video_speed.py [--models the_scream starry_night] [--sizes 640x360 1280x720] [--frames 24]
        [--no-temporal]

The clip is a pan over a demo photo, encoded with PyAV at each size. Each shipped style runs as infer.py runs it
(fst.media.transform_video on Stylizer(exports/<style>.onnx).video(), stabilized unless --no-temporal), by
default and with --fast where a fast variant is shipped. Columns: end-to-end frames per second; the stylizing
alone, timed inside the same run, as frames per second; and their ratio, which is 1.0 when decoding and
encoding hide entirely behind the stylizing (fst.media.pipeline runs them in threads of their own). The CPU's
capability is printed with every figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.errors import FstError  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb  # noqa: E402
from fst.media import transform_video  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402

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


def measure(stylizer: Stylizer, clip: Path, out: Path, temporal: bool) -> tuple[float, float]:
    """(end-to-end frames per second, stylizing-only frames per second) for one run over `clip`."""
    video, stylizing = stylizer.video(temporal), [0.0]

    def timed(image: Image.Image) -> Image.Image:
        start = time.perf_counter()
        result = video.stylize(image)
        stylizing[0] += time.perf_counter() - start
        return result

    start = time.perf_counter()
    frames = transform_video(clip, out, timed, lambda: None)
    total = time.perf_counter() - start
    return frames / total, frames / stylizing[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["the_scream", "wave", "starry_night", "udnie"])
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--no-temporal", action="store_true", help="each frame on its own, as infer.py --no-temporal")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fst-video-"))
    capability = cpu_capability()
    print(f"{'model':<14} {'path':<30} {'size':>9} {'frames/s':>9} {'stylize':>8} {'ratio':>6}  CPU")
    for size in args.sizes:
        width, height = map(int, size.split("x"))
        clip = folder / f"clip-{size}.mp4"
        pan_clip(clip, (width, height), args.frames)
        for name in args.models:
            for fast in (False, True):
                try:
                    stylizer = Stylizer(REPO / "exports" / f"{name}.onnx", "cpu", fast=fast)
                except FstError as e:
                    print(f"{name:<14} skipped: {e}")
                    continue
                end_to_end, stylize_only = measure(stylizer, clip, folder / "out.mp4", not args.no_temporal)
                ran = Path(stylizer.path).name
                print(f"{name:<14} {ran:<30} {size:>9} {end_to_end:>9.2f} {stylize_only:>8.2f} "
                      f"{end_to_end / stylize_only:>6.2f}  {capability}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
