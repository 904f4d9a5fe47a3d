"""Stylize a large image in tiles, with the look of the whole image stylized at once.

Instance normalization makes each output pixel depend on statistics of the whole image, so tiles normalized on
their own would each get a different look; here every tile is normalized with the statistics of a thumbnail of
the whole image (Chen et al. 2022, "Towards Ultra-Resolution Neural Style Transfer via Thumbnail Instance
Normalization"). Each output pixel also depends on the pixels within the network's receptive field, and a tile's
padding stands in for those beyond its edge: so each tile runs with a margin of context as wide as that field's
radius (measured per network, `context_margin`), only its core is kept, and neighbouring cores are blended with
linear ramps over `overlap` pixels. The thumbnail's long side is twice the tile
size: statistics from smaller thumbnails drift visibly (4/255 mean difference at 1x against 1/255 at 2x on the
sample photos), so that pass needs four times a tile's memory.

How large a tile may be follows from a memory budget (`choose_tile`): peak memory was measured for the default
network (width 32) under onnxruntime on a CPU, whole and tiled, from 1 to 24 megapixels (bench/memory.py); the
estimates below lie above every measured peak, by 5 to 30%.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np
from PIL import Image

from fst.architectures import MIN_SIDE
from fst.backends import Backend
from fst.devices import torch_cuda

THUMBNAIL_TILES = 2  # the statistics pass sees the image at up to 2 x tile on its long side

GB = 1024**3
BASE_BYTES = 0.35 * GB  # Python, torch, onnxruntime and the model, before any image
WHOLE_BYTES_PER_PIXEL = 900  # whole image: every activation of the network at full size (0.82-0.88 GB/MP)
IMAGE_BYTES_PER_PIXEL = 48  # tiled: the decoded image, its float copy, the blend accumulators (about 44 measured)
TILE_BYTES_PER_PIXEL = 4000  # tiled: per pixel of tile x tile; the thumbnail pass (4x a tile) dominates
MIN_TILE, TILE_STEP = 256, 64  # smaller tiles make the thumbnail's statistics too coarse
DEFAULT_BUDGET_RANGE = (1.0, 3.0)  # GB: an eighth of the RAM, within this range


def memory_budget(cuda: bool) -> float:
    """The default memory budget in GB: an eighth of the RAM (1 to 3 GB), leaving room for everything else the
    machine runs; on a GPU half of its free memory."""
    if cuda and torch_cuda(asked=True):
        import torch

        free, _ = torch.cuda.mem_get_info()
        return free / 2 / GB
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): assume a small machine
        ram = 8 * GB
    low, high = DEFAULT_BUDGET_RANGE
    return min(high, max(low, ram / 8 / GB))


def whole_image_bytes(width: int, height: int) -> float:
    """Estimated peak memory of stylizing a width x height image in one pass."""
    return BASE_BYTES + WHOLE_BYTES_PER_PIXEL * width * height


def tiled_bytes(width: int, height: int, tile: int) -> float:
    """Estimated peak memory of stylizing a width x height image in tiles of `tile` (see stylize_tiled)."""
    return BASE_BYTES + IMAGE_BYTES_PER_PIXEL * width * height + TILE_BYTES_PER_PIXEL * tile * tile


def choose_tile(width: int, height: int, budget_gb: float) -> int | None:
    """None when the whole image fits the budget, else the largest tile (a multiple of 64, at least 256) whose
    estimated peak fits; MIN_TILE when none does (an image of hundreds of megapixels on a tiny budget)."""
    budget = budget_gb * GB
    if whole_image_bytes(width, height) <= budget:
        return None
    tile = MIN_TILE
    while tile + TILE_STEP < max(width, height) and tiled_bytes(width, height, tile + TILE_STEP) <= budget:
        tile += TILE_STEP
    return tile


def thumbnail_side(width: int, height: int, tile: int, budget_gb: float) -> int:
    """The long side of the thumbnail whose statistics the tiles take: twice the tile, or larger where the budget
    holds a whole pass at that size beside the image (statistics from a smaller copy shift the look: 8/255 on
    average for a 768-pixel photo from a 512-pixel thumbnail, none from the image itself)."""
    room = budget_gb * GB - BASE_BYTES - IMAGE_BYTES_PER_PIXEL * width * height
    scale = min(1.0, math.sqrt(max(0.0, room) / WHOLE_BYTES_PER_PIXEL / (width * height)))
    return max(THUMBNAIL_TILES * tile, int(max(width, height) * scale))


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins covering [0, length) with at least `overlap` pixels shared by neighbours.

    Origins are multiples of 4, the network's total stride, so every tile samples the same pixel grid as the whole
    image would; the last tile ends at `length` and may be up to 3 pixels longer than `tile`.
    """
    if length <= tile:
        return [0]
    stride = (tile - overlap) // 4 * 4
    last = (length - tile) // 4 * 4
    return [*range(0, last, stride), last]


def blend_ramp(length: int, overlap: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """1-D weights: rising over the first `overlap` pixels if fade_in, falling over the last if fade_out."""
    ramp = np.ones(length, dtype=np.float32)
    if overlap > 0:
        edge = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        if fade_in:
            ramp[:overlap] = np.minimum(ramp[:overlap], edge)
        if fade_out:
            ramp[-overlap:] = np.minimum(ramp[-overlap:], edge[::-1])
    return ramp


def thumbnail(image: np.ndarray, long_side: int) -> np.ndarray:
    """The (1, 3, H, W) image scaled down (bilinear, antialiased) so its long side is at most `long_side`;
    unchanged if already smaller."""
    _, _, height, width = image.shape
    scale = long_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
    plane = [Image.fromarray(np.ascontiguousarray(c, dtype=np.float32)) for c in image[0]]  # mode F
    channels = [np.asarray(p.resize(size, Image.Resampling.BILINEAR)) for p in plane]
    return np.clip(np.stack(channels)[None], 0, 1)


def context_margin(backend: Backend, probe: int = 192) -> int:
    """The radius of the network's receptive field, rounded up to its stride of 4: the context a tile needs on
    each side for its core to come out as in the whole image. Measured, so that every architecture gets its own:
    one pixel changed at the centre of a probe image, under fixed norm statistics, changes the output this far."""
    image = np.random.default_rng(0).random((1, 3, probe, probe), dtype=np.float32)
    stats = backend.norm_stats(image)
    changed = image.copy()
    changed[..., probe // 2, probe // 2] = 1 - changed[..., probe // 2, probe // 2]
    reach = np.abs(backend.with_stats(changed, stats) - backend.with_stats(image, stats)).max(axis=(0, 1)) > 0
    rows, columns = np.nonzero(reach.any(axis=1))[0], np.nonzero(reach.any(axis=0))[0]
    centre = probe // 2
    radius = max(centre - rows.min(), rows.max() - centre, centre - columns.min(), columns.max() - centre)
    if radius >= centre - 1:  # the field reaches the probe's edge: look again on a larger one
        return context_margin(backend, probe * 2)
    return -(-int(radius) // 4) * 4


def stylize_tiled(
    backend: Backend,
    image: np.ndarray,
    tile: int,
    overlap: int,
    margin: int = 0,
    thumbnail_long_side: int | None = None,
    on_tile: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """backend(image) for a (1, 3, H, W) image, computed in tiles of at most tile x tile pixels (+3, see
    tile_starts), each normalized with the statistics of the thumbnail (long side: twice the tile unless given):
    cores of tile - 2 x margin pixels, each run with `margin` pixels of context around it (context_margin) where
    the image has them. on_tile(done, total) after each tile: a long image's progress."""
    _, _, height, width = image.shape
    core = tile - 2 * margin
    stats = backend.norm_stats(thumbnail(image, thumbnail_long_side or THUMBNAIL_TILES * tile))
    total = np.zeros((1, 3, height, width), dtype=np.float32)
    weight = np.zeros((1, 1, height, width), dtype=np.float32)
    rows, columns = tile_starts(height, core, overlap), tile_starts(width, core, overlap)
    for row, top in enumerate(rows):
        for column, left in enumerate(columns):
            bottom = height if top == rows[-1] else top + core
            right = width if left == columns[-1] else left + core
            above, before = min(top, margin), min(left, margin)
            region = image[..., top - above : bottom + margin, left - before : right + margin]
            out = backend.with_stats(region, stats)[..., above : above + bottom - top, before : before + right - left]
            ramp_y = blend_ramp(bottom - top, overlap, top > 0, bottom < height)
            ramp_x = blend_ramp(right - left, overlap, left > 0, right < width)
            w = ramp_y[:, None] * ramp_x[None, :]
            total[..., top:bottom, left:right] += out * w
            weight[..., top:bottom, left:right] += w
            if on_tile is not None:
                on_tile(row * len(columns) + column + 1, len(rows) * len(columns))
    return np.divide(total, weight, out=total)  # in place: one image-sized buffer less at the peak
