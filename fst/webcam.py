"""The live webcam: the newest camera frame stylized, shown with its frame rate, and nothing queued.

A camera delivers frames at its own pace (30 a second, say) and OpenCV buffers the ones nobody has read yet. A
stylizer slower than the camera that read them in order would show frames further and further in the past. Here
a thread reads the camera all the time and keeps only the newest frame: the stylizer takes the frame of now, the
ones in between are dropped (and counted), and the picture on screen is at most one stylizing behind the scene.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from fst.errors import FstError
from fst.video import recording


class LatestFrame:
    """Frames from `read` (a camera's read: an RGB array, or None at its end) in a thread; iterating gives the
    newest frame each time, waiting only when none came since the last one taken. `dropped` counts the frames
    that were replaced before anyone took them."""

    def __init__(self, read: Callable[[], np.ndarray | None]) -> None:
        self._read = read
        self._frame: np.ndarray | None = None
        self._ended = False
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._read()
            with self._changed:
                if frame is None:
                    self._ended = True
                else:
                    self.dropped += self._frame is not None
                    self._frame = frame
                self._changed.notify_all()
            if frame is None:
                return

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._frame is not None or self._ended)
                if self._frame is None:
                    return
                frame, self._frame = self._frame, None
            yield frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class FrameRate:
    """Frames per second over the last frames: an exponential moving average of the time between ticks."""

    def __init__(self, smoothing: float = 0.9, clock: Callable[[], float] = time.perf_counter) -> None:
        self.smoothing, self.clock = smoothing, clock
        self.last: float | None = None
        self.interval: float | None = None

    def tick(self) -> float:
        """Mark a frame shown; the frame rate so far (0 until two frames)."""
        now = self.clock()
        if self.last is not None:
            step = now - self.last
            previous = step if self.interval is None else self.interval
            self.interval = self.smoothing * previous + (1 - self.smoothing) * step
        self.last = now
        return 1 / self.interval if self.interval else 0.0


def webcam_window_support() -> None:
    """The live window needs an OpenCV built with a GUI; the headless build fst installs for video has none."""
    import cv2

    if re.search(r"GUI:\s+NONE", cv2.getBuildInformation()):
        raise FstError(
            "--input webcam:N opens a window, and this OpenCV is the headless build: pip install 'fst-style[webcam]' "
            "(opencv-python: the same OpenCV with a GUI)"
        )


def open_camera(index: int) -> LatestFrame:
    """Camera `index` through OpenCV, read in a thread (LatestFrame), frames as RGB arrays."""
    import cv2

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise FstError(f"no camera at index {index} (try webcam:0, or check that the camera is free)")

    def read() -> np.ndarray | None:
        ok, frame = capture.read()
        if not ok:
            capture.release()
            return None
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    return LatestFrame(read)


def run_webcam(index: int, transform: Callable[[Image.Image], Image.Image], target: Path | None,
               overwrite: bool = False) -> int:  # fmt: skip
    """Live preview in a window (q, Esc or Ctrl-C quits): the newest frame each time (LatestFrame), its frame rate
    and the frames dropped meanwhile written on it; recorded to `target` when given, each frame at the time it was
    taken (fst.video.recording), the file complete once the window closes. Returns the frames recorded."""
    import cv2

    webcam_window_support()
    camera = open_camera(index)
    rate, start = FrameRate(), time.monotonic()
    with contextlib.ExitStack() as stack:
        writer = None if target is None else stack.enter_context(recording(target, overwrite))
        try:
            for frame in camera:
                taken = round((time.monotonic() - start) * 1000)
                styled = transform(Image.fromarray(frame)).convert("RGB")
                if writer is not None:
                    writer.add(styled, taken)
                bgr = cv2.cvtColor(np.asarray(styled), cv2.COLOR_RGB2BGR)
                label = f"{rate.tick():.1f} frames/s, {camera.dropped} camera frames dropped"
                cv2.putText(bgr, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
                cv2.imshow(f"fst webcam:{index} (q quits)", bgr)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
        except KeyboardInterrupt:  # as q: the recording so far is kept
            pass
        finally:
            camera.close()
            cv2.destroyAllWindows()
    return 0 if writer is None else writer.frames
