import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import DEMO_PHOTOS
from PIL import Image

import fst.stylize
from fst.backends import OnnxBackend
from fst.errors import UsageError
from fst.stylize import Stylizer
from fst.tiling import (
    GB,
    MIN_TILE,
    blend_ramp,
    choose_tile,
    memory_budget,
    stylize_tiled,
    thumbnail,
    thumbnail_side,
    tile_starts,
    tiled_bytes,
    whole_image_bytes,
)


@pytest.mark.parametrize("backend", ["onnx", "checkpoint"])
def test_tiled_equals_whole_when_statistics_are_exact(models, backend):
    """An image at most 2 tiles long gets exact instance-norm statistics, and each tile runs with its receptive
    field of context: the tiles meet without a seam, blended or not."""
    checkpoint, onnx_path = models
    model = onnx_path if backend == "onnx" else checkpoint
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").resize((150, 101))
    whole = np.asarray(Stylizer(model, "cpu").stylize(photo), dtype=float)
    for overlap in (0, 8):
        stylizer = Stylizer(model, "cpu", tile=120, overlap=overlap)
        tiled = np.asarray(stylizer.stylize(photo), dtype=float)
        assert stylizer.whole(150, 101) is False and tiled.shape == whole.shape
        assert np.abs(tiled - whole).max() <= 1  # rounding of float sums only


def test_each_architecture_gets_the_context_its_receptive_field_needs(models):
    """Width 8, one residual block: 9x9 (4 pixels), two stride-2 3x3 (1 + 2), two 3x3 at quarter size (4 + 4),
    two upsampling 3x3 (2 + 1), 9x9 (4): a radius of 22, 24 on the stride of 4. The shipped full network has 5
    blocks (54: 56), the realtime one its own (52)."""
    from fst.tiling import context_margin

    assert context_margin(Stylizer(models[1]).backend) == 24
    assert context_margin(Stylizer(models[0], "cpu").backend) == 24
    assert Stylizer("wave", int8=False).margin == 56 and Stylizer("wave", fast=True).margin == 52
    with pytest.raises(UsageError, match=r"^tile 100: this network needs 24 pixels of context on each side of a tile "
                                         r"\(its receptive field\) and 0 to blend: expected at least 112$"):  # fmt: skip
        Stylizer(models[1], tile=100)


@pytest.mark.parametrize("value", [{"overlap": 8.5}, {"tile": 300.0}, {"style_scale": float("nan")}, {"tile": True}])
def test_sizes_in_pixels_are_whole_numbers(models, value):
    name, given = next(iter(value.items()))
    with pytest.raises(UsageError, match=rf"^{name} {given!r}: expected a whole number of pixels$"):
        Stylizer(models[1], **value)


def test_tiles_cover_the_image_on_the_network_stride():
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(301, 128, 40)
    assert all(s % 4 == 0 for s in starts) and starts[0] == 0 and starts[-1] + 128 + 3 >= 301
    assert all(b - a <= 128 - 40 for a, b in zip(starts, starts[1:]))
    ramp = blend_ramp(10, 4, fade_in=True, fade_out=False)
    assert ramp.tolist() == [0.125, 0.375, 0.625, 0.875, 1, 1, 1, 1, 1, 1]


def test_the_statistics_come_from_a_thumbnail_of_twice_the_tile(models):
    """Above 2 tiles the statistics pass sees a thumbnail, long side 2 x tile, and only that pass."""

    backend = OnnxBackend(models[1], cuda=False)
    seen = []
    norm_stats = backend.norm_stats
    backend.norm_stats = lambda images: seen.append(tuple(images.shape)) or norm_stats(images)
    image = np.random.default_rng(0).random((1, 3, 90, 300), dtype=np.float32)
    out = stylize_tiled(backend, image, tile=64, overlap=16)
    assert seen == [(1, 3, 38, 128)] and out.shape == image.shape  # 90 x 128/300 = 38.4
    assert thumbnail(image, 400) is image  # small enough already: the statistics are exact
    assert tuple(thumbnail(image, 16).shape) == (1, 3, 8, 16)  # never below 8 pixels a side


def test_the_thumbnail_is_as_large_as_the_budget_holds_a_whole_pass_beside_the_image():
    # 2 GB - 0.35 GB - 48 B x 24 MP = 619.7e6 B hold 688,527 pixels at 900 B: a scale of sqrt(688527 / 24e6) = 0.169
    assert thumbnail_side(6000, 4000, 384, 2.0) == 1016
    assert thumbnail_side(768, 512, 256, 3.0) == 768  # the image itself: its statistics are exact
    assert thumbnail_side(6000, 4000, 256, 0.5) == 512  # no room: twice the tile, as the tile estimate assumes


def test_the_budget_decides_between_whole_and_the_largest_tile_that_fits():
    # whole: 0.35 GB + 900 B x 1 MP = 1.19 GB
    assert whole_image_bytes(1000, 1000) == pytest.approx(0.35 * GB + 900e6)
    assert choose_tile(1000, 1000, 1.2) is None
    # 24 MP in 2 GB: 0.35 GB + 48 B x 24 MP leave 619.7e6 B, / 4000 B = 154,918 px = 393^2: tiles of 384
    assert choose_tile(6000, 4000, 2.0) == 384
    assert tiled_bytes(6000, 4000, 384) <= 2 * GB < tiled_bytes(6000, 4000, 448)
    assert choose_tile(6000, 4000, 3.0) == 640  # about the default budget on a 24 GB machine: 650^2 fits
    assert choose_tile(3000, 2000, 3.0) == 768
    # nothing fits: the smallest tile, never a tile as long as the image
    assert choose_tile(6000, 4000, 0.5) == MIN_TILE
    assert choose_tile(300, 200, 0.35) == MIN_TILE


@pytest.mark.parametrize(("ram_gb", "budget_gb"), [(4, 1.0), (16, 2.0), (24, 3.0), (256, 3.0)])
def test_the_default_budget_is_an_eighth_of_the_ram_from_1_to_3_gb(monkeypatch, ram_gb, budget_gb):
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": ram_gb * GB // 4096}
    monkeypatch.setattr("os.sysconf", pages.__getitem__)
    assert memory_budget(cuda=False) == pytest.approx(budget_gb)


def test_stylizer_tiles_by_itself_when_the_image_exceeds_its_budget(models, monkeypatch):
    """Under a budget below the whole-image estimate the Stylizer tiles (here one seam across 300 pixels, the
    statistics exact): the output is the whole image's; with room to spare it runs whole."""
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").resize((300, 200))
    tiles = []

    def spy(backend, image, tile, overlap, margin, thumbnail_long_side, on_tile):
        tiles.append(tile)
        return stylize_tiled(backend, image, tile, overlap, margin, thumbnail_long_side, on_tile)

    monkeypatch.setattr(fst.stylize, "stylize_tiled", spy)
    whole = np.asarray(Stylizer(models[1], "cpu", max_memory=1.0).stylize(photo), dtype=float)
    assert tiles == []
    small = 0.9 * whole_image_bytes(300, 200) / GB
    progress = []
    on_tile = lambda done, total: progress.append((done, total))  # noqa: E731
    tiled = np.asarray(Stylizer(models[1], "cpu", max_memory=small).stylize(photo, on_tile), dtype=float)
    assert tiles == [MIN_TILE] and progress == [(1, 2), (2, 2)]  # each tile reported as it is done
    assert np.abs(tiled - whole).max() <= 1
    assert Stylizer(models[1], "cpu", tile=128, overlap=32, max_memory=100).tile_for(300, 200) == 128  # asked for: kept


def test_the_thumbnail_is_pytorchs_antialiased_bilinear_downscaling():
    image = np.random.default_rng(1).random((1, 3, 90, 300), dtype=np.float32)
    ours = thumbnail(image, 128)
    theirs = F.interpolate(torch.from_numpy(image), size=(38, 128), mode="bilinear", antialias=True)
    np.testing.assert_allclose(ours, theirs.numpy(), atol=2e-3)  # PIL's filter in float32, PyTorch's in float32
