"""Guided upsampling: a stylization made at low resolution, brought to full resolution along the photo's edges.

The network's strokes have a fixed size in pixels, so on a 24-megapixel photo they shrink to fine noise. With a
style scale the network runs on a copy of the photo at a working size (say 1024 pixels on the long side), where
its strokes have the intended size against the image, and the result is upsampled with the guided filter (He et
al. 2013, "Guided Image Filtering"; used for upsampling as in Wu et al. 2018, "Fast End-to-End Trainable Guided
Filter"): around every low-resolution pixel the stylized colours are fitted as a linear function of the photo's
luminance, and those fits, upsampled, are applied to the full-resolution luminance. Strokes keep their size and
colour; edges of the photo come back sharp instead of blurred by the upsampling.

The full-resolution pass runs in bands of rows, so its memory stays a few bytes per pixel.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fst.data import to_tensor

RADIUS = 2  # low-resolution pixels each way in a local linear fit
EPS = 1e-3  # how strongly a fit prefers a flat colour over following the luminance (variance units)
BAND_ROWS = 256  # full-resolution rows per band

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R BT.601, as PIL's "L" mode


def luminance(image: Image.Image) -> torch.Tensor:
    """An RGB image's luminance, (1, 1, h, w) in [0, 1]."""
    return (to_tensor(image)[None] * LUMA).sum(1, keepdim=True)


def box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, over the pixels inside the image at the borders."""
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def linear_fits(guide: torch.Tensor, source: torch.Tensor, radius: int, eps: float):
    """(a, b) with source ~ a * guide + b in every window, averaged over the windows covering each pixel (He et
    al.'s guided filter); guide (1, 1, h, w), source (1, C, h, w)."""
    mean_guide, mean_source = box(guide, radius), box(source, radius)
    covariance = box(guide * source, radius) - mean_guide * mean_source
    variance = box(guide * guide, radius) - mean_guide * mean_guide
    a = covariance / (variance + eps)
    b = mean_source - a * mean_guide
    return box(a, radius), box(b, radius)


def guided_upsample(
    photo: Image.Image, small_photo: Image.Image, small_stylized: torch.Tensor, radius: int = RADIUS, eps: float = EPS
) -> Image.Image:
    """The stylization `small_stylized` ((1, 3, h, w) in [0, 1]) of `small_photo` (h x w), brought to the size of
    `photo` with the guided filter; both photos and the result are RGB images."""
    a, b = linear_fits(luminance(small_photo), small_stylized.float(), radius, eps)
    width, height = photo.size
    out = np.empty((height, width, 3), dtype=np.uint8)
    # grid_sample at full-resolution pixel centres is bilinear upsampling (align_corners=False), one band at a time
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    for top in range(0, height, BAND_ROWS):
        rows = torch.arange(top, min(top + BAND_ROWS, height), dtype=torch.float32)
        ys = (rows + 0.5) / height * 2 - 1
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None]
        band_a = F.grid_sample(a, grid, mode="bilinear", padding_mode="border", align_corners=False)
        band_b = F.grid_sample(b, grid, mode="bilinear", padding_mode="border", align_corners=False)
        guide = luminance(photo.crop((0, top, width, top + len(rows))))
        result = (band_a * guide + band_b).clamp(0, 1)
        out[top : top + len(rows)] = (result[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(out)
