import threading
import time

import numpy as np
import pytest

from fst.webcam import FrameRate, LatestFrame


class FakeCamera:
    """Numbered frames every `interval` seconds, `count` of them; `made` says how many exist so far."""

    def __init__(self, count: int, interval: float) -> None:
        self.count, self.interval, self.made = count, interval, 0
        self.lock = threading.Lock()

    def read(self):
        if self.made == self.count:
            return None
        time.sleep(self.interval)
        with self.lock:
            self.made += 1
            return np.full((2, 2, 3), self.made, np.uint8)


def test_a_slow_consumer_gets_the_newest_frame_and_the_rest_are_dropped_not_queued():
    camera = FakeCamera(count=60, interval=0.01)
    frames = LatestFrame(camera.read)
    taken = []
    for frame in frames:
        with camera.lock:
            newest = camera.made
        taken.append(int(frame[0, 0, 0]))
        assert taken[-1] >= newest - 3  # only frames read since it was taken are newer: no backlog builds up
        time.sleep(0.04)  # stylizing is 4x slower than the camera
    frames.close()
    assert taken == sorted(set(taken)) and taken[-1] == 60  # in order, none twice, through to the end
    assert len(taken) < 30 and frames.dropped == 60 - len(taken)


def test_a_fast_consumer_sees_every_frame_once():
    camera = FakeCamera(count=8, interval=0.05)
    frames = LatestFrame(camera.read)
    assert [int(f[0, 0, 0]) for f in frames] == list(range(1, 9)) and frames.dropped == 0


def test_frame_rate_is_a_moving_average_of_the_intervals():
    times = iter([0.0, 0.1, 0.2, 0.4])
    rate = FrameRate(smoothing=0.5, clock=lambda: next(times))
    assert rate.tick() == 0.0  # one frame: no rate yet
    assert rate.tick() == pytest.approx(10.0)  # 0.1 s
    assert rate.tick() == pytest.approx(10.0)  # 0.5 * 0.1 + 0.5 * 0.1
    assert rate.tick() == pytest.approx(1 / 0.15)  # 0.5 * 0.1 + 0.5 * 0.2
