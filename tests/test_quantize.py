"""PSNR pooled over pairs, and the photos int8 is calibrated on."""

import math

import pytest
import torch
from conftest import DEMO_PHOTOS

from fst.errors import FstError
from fst.quantize import calibration_photos, psnr


def test_calibration_photos_are_spread_and_resized():
    photos = calibration_photos(DEMO_PHOTOS, count=3, size=64)
    assert len(photos) == 3 and all(p.shape[0] == 1 and p.shape[1] == 3 and max(p.shape[2:]) == 64 for p in photos)


def test_int8_with_only_unreadable_photos_says_so(tmp_path):
    (tmp_path / "a.jpg").write_text("not a jpeg")
    (tmp_path / "b.png").write_bytes(b"")
    with pytest.raises(FstError, match=f"none of the 2 images under {tmp_path} could be read"):
        calibration_photos(tmp_path)


def test_psnr_pools_the_squared_error_over_every_pair():
    a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.1)
    assert psnr([(a, b)]) == pytest.approx(20.0)  # MSE 0.01
    assert psnr([(a, b), (a, a)]) == pytest.approx(10 * math.log10(1 / 0.005))  # MSE pooled: 0.01 over half
    assert psnr([(a, a)]) == float("inf")
