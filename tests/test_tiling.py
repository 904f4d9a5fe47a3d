import numpy as np
import pytest
import torch
from PIL import Image

from fst.stylize import Stylizer
from fst.tiling import blend_ramp, stylize_tiled, thumbnail, tile_starts

from conftest import DEMO_PHOTOS


@pytest.mark.parametrize("backend", ["onnx", "checkpoint"])
def test_tiled_equals_whole_when_statistics_are_exact(models, backend):
    """An image at most 2 tiles long gets exact instance-norm statistics: only the seams could differ."""
    checkpoint, onnx_path = models
    model = onnx_path if backend == "onnx" else checkpoint
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").resize((150, 101))
    whole = np.asarray(Stylizer(model, "cpu").stylize(photo), dtype=float)
    tiled = np.asarray(Stylizer(model, "cpu", tile=80, overlap=32).stylize(photo), dtype=float)
    butted = np.asarray(Stylizer(model, "cpu", tile=80, overlap=0).stylize(photo), dtype=float)
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).mean() <= 2  # the promise: 2/255 on [0, 1], here on 0..255
    assert np.abs(tiled - whole).mean() < 0.6 * np.abs(butted - whole).mean()  # blending hides the seams


def test_tiles_cover_the_image_on_the_network_stride():
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(301, 128, 40)
    assert all(s % 4 == 0 for s in starts) and starts[0] == 0 and starts[-1] + 128 + 3 >= 301
    assert all(b - a <= 128 - 40 for a, b in zip(starts, starts[1:]))
    ramp = blend_ramp(10, 4, fade_in=True, fade_out=False)
    assert ramp.tolist() == [0.125, 0.375, 0.625, 0.875, 1, 1, 1, 1, 1, 1]


def test_the_statistics_come_from_a_thumbnail_of_twice_the_tile(models):
    """Above 2 tiles the statistics pass sees a thumbnail, long side 2 x tile, and only that pass."""
    from fst.backends import OnnxBackend

    backend = OnnxBackend(models[1], cuda=False)
    seen = []
    norm_stats = backend.norm_stats
    backend.norm_stats = lambda images: seen.append(tuple(images.shape)) or norm_stats(images)
    image = torch.rand(1, 3, 90, 300, generator=torch.Generator().manual_seed(0))
    out = stylize_tiled(backend, image, tile=64, overlap=16)
    assert seen == [(1, 3, 38, 128)] and out.shape == image.shape  # 90 x 128/300 = 38.4
    assert thumbnail(image, 400) is image  # small enough already: the statistics are exact
    assert tuple(thumbnail(image, 16).shape) == (1, 3, 8, 16)  # never below 8 pixels a side
