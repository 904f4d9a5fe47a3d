"""Stylize a large image in tiles, with the look of the whole image stylized at once.

Instance normalization makes each output pixel depend on statistics of the whole image, so tiles normalized on
their own would each get a different look; here every tile is normalized with the statistics of a thumbnail of
the whole image (Chen et al. 2022, "Towards Ultra-Resolution Neural Style Transfer via Thumbnail Instance
Normalization"), and overlapping tiles are blended with linear ramps. The thumbnail's long side is twice the tile
size: statistics from smaller thumbnails drift visibly (4/255 mean difference at 1x against 1/255 at 2x on the
sample photos), so that pass needs four times a tile's memory.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fst.backends import OnnxBackend, TorchBackend

MIN_SIDE = 8  # two stride-2 convolutions, then 3x3 reflection padding: smaller sides cannot be padded
THUMBNAIL_TILES = 2  # the statistics pass sees the image at up to 2 x tile on its long side


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


def blend_ramp(length: int, overlap: int, fade_in: bool, fade_out: bool) -> torch.Tensor:
    """1-D weights: rising over the first `overlap` pixels if fade_in, falling over the last if fade_out."""
    ramp = torch.ones(length)
    if overlap > 0:
        edge = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
        if fade_in:
            ramp[:overlap] = torch.minimum(ramp[:overlap], edge)
        if fade_out:
            ramp[-overlap:] = torch.minimum(ramp[-overlap:], edge.flip(0))
    return ramp


def thumbnail(image: torch.Tensor, long_side: int) -> torch.Tensor:
    """The image scaled down (antialiased) so its long side is at most `long_side`; unchanged if already smaller."""
    _, _, height, width = image.shape
    scale = long_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale)))
    return F.interpolate(image, size=size, mode="bilinear", antialias=True).clamp(0, 1)


def stylize_tiled(backend: TorchBackend | OnnxBackend, image: torch.Tensor, tile: int, overlap: int) -> torch.Tensor:
    """backend(image) for a (1, 3, H, W) image, computed in tiles of at most tile x tile pixels (+3, see
    tile_starts), each normalized with the statistics of the thumbnail."""
    _, _, height, width = image.shape
    stats = backend.norm_stats(thumbnail(image, THUMBNAIL_TILES * tile))
    total = torch.zeros(1, 3, height, width)
    weight = torch.zeros(1, 1, height, width)
    rows, columns = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    for top in rows:
        for left in columns:
            bottom = height if top == rows[-1] else top + tile
            right = width if left == columns[-1] else left + tile
            out = backend.with_stats(image[..., top:bottom, left:right], stats)
            ramp_y = blend_ramp(bottom - top, overlap, top > 0, bottom < height)
            ramp_x = blend_ramp(right - left, overlap, left > 0, right < width)
            w = ramp_y[:, None] * ramp_x[None, :]
            total[..., top:bottom, left:right] += out * w
            weight[..., top:bottom, left:right] += w
    return total / weight
