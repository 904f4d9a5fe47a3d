import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import DEMO_PHOTOS
from PIL import Image

import fst.guided
from fst.guided import box, guided_upsample
from fst.images import to_array
from fst.stylize import Stylizer


def photo_pair(size=(120, 90), small=(40, 30)):
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").convert("RGB").resize(size, Image.Resampling.LANCZOS)
    return photo, photo.resize(small, Image.Resampling.LANCZOS)


def luminance(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image, dtype=np.float64) / 255
    return rgb @ np.array([0.299, 0.587, 0.114])


def test_a_stylization_linear_in_the_luminance_is_reproduced_at_full_resolution():
    """If the low-resolution output is a * luminance + b (per channel), the local fits find a and b exactly and
    apply them to the full-resolution luminance: the sharp full-size answer, not a blurred upsampling."""
    photo, small = photo_pair()
    gain, offset = np.array([0.6, -0.3, 0.2]), np.array([0.2, 0.7, 0.4])
    small_stylized = (luminance(small)[..., None] * gain + offset).transpose(2, 0, 1)[None].astype(np.float32)
    out = np.asarray(guided_upsample(photo, small, small_stylized, eps=1e-9), dtype=float)
    expected = (luminance(photo)[..., None] * gain + offset) * 255
    assert np.abs(out - expected).max() <= 1.0  # rounding to 8 bits, and float32 fits
    upsampled = F.interpolate(torch.from_numpy(small_stylized), size=(photo.height, photo.width), mode="bilinear")
    blurred = upsampled[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(blurred - expected).mean() > 3 * np.abs(out - expected).mean()


def test_a_flat_colour_stays_flat_and_bands_change_nothing(monkeypatch):
    photo, small = photo_pair()
    flat = np.broadcast_to(np.float32([0.2, 0.4, 0.6]).reshape(1, 3, 1, 1), (1, 3, 30, 40))
    colours = np.unique(np.asarray(guided_upsample(photo, small, flat)).reshape(-1, 3), axis=0)
    assert colours.tolist() == [[51, 102, 153]]
    stylized = to_array(small.rotate(180))  # anything unrelated to the photo
    whole = np.asarray(guided_upsample(photo, small, stylized))
    monkeypatch.setattr(fst.guided, "BAND_ROWS", 7)
    assert np.array_equal(np.asarray(guided_upsample(photo, small, stylized)), whole)


def test_box_means_over_the_pixels_inside_the_image():
    x = np.arange(9.0, dtype=np.float32).reshape(1, 1, 3, 3)
    means = box(x, 1)
    assert means[0, 0, 1, 1] == 4.0 and means[0, 0, 0, 0] == pytest.approx((0 + 1 + 3 + 4) / 4)
    y = np.random.default_rng(1).random((2, 3, 11, 13), dtype=np.float32)
    padded = F.pad(torch.from_numpy(y), (2, 2, 2, 2))
    sums = F.avg_pool2d(padded, 5, stride=1, divisor_override=1)
    counts = F.avg_pool2d(F.pad(torch.ones(1, 1, 11, 13), (2, 2, 2, 2)), 5, stride=1, divisor_override=1)
    np.testing.assert_allclose(box(y, 2), (sums / counts).numpy(), atol=1e-6)


def test_the_style_scale_runs_the_network_at_that_size(models):
    photo, _ = photo_pair((300, 200))
    stylizer = Stylizer(models[1], "cpu", style_scale=96)
    seen = []
    backend = stylizer.backend
    stylizer.backend = lambda batch: seen.append(tuple(batch.shape[-2:])) or backend(batch)
    out = stylizer.stylize(photo)
    assert seen == [(64, 96)] and out.size == (300, 200)
    assert stylizer.stylize(photo.resize((90, 60))).size == (90, 60) and seen[-1] == (60, 90)  # smaller: as is
    plain = np.asarray(Stylizer(models[1], "cpu").stylize(photo), dtype=float)
    assert np.abs(np.asarray(out, dtype=float) - plain).mean() > 2  # bigger strokes: a different picture


def test_upsampling_matches_pytorch_bilinear_with_clamped_borders_band_by_band():
    low = np.random.default_rng(0).random((3, 7, 9), dtype=np.float32)
    ours = fst.guided.upsample_band(np.ascontiguousarray(low.transpose(1, 2, 0)), 30, 41, 0, 30)
    theirs = F.interpolate(torch.from_numpy(low)[None], size=(30, 41), mode="bilinear", align_corners=False)[0]
    np.testing.assert_allclose(ours, theirs.permute(1, 2, 0).numpy(), atol=1e-6)
    band = fst.guided.upsample_band(np.ascontiguousarray(low.transpose(1, 2, 0)), 30, 41, 10, 20)
    np.testing.assert_array_equal(band, ours[10:20])
