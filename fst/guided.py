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
from PIL import Image

RADIUS = 2  # low-resolution pixels each way in a local linear fit
EPS = 1e-3  # how strongly a fit prefers a flat colour over following the luminance (variance units)
BAND_ROWS = 256  # full-resolution rows per band

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as PIL's "L" mode


def luminance(image: Image.Image) -> np.ndarray:
    """An RGB image's luminance, (h, w) float32 in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) @ (LUMA / 255)


def box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window of the last two axes, over the pixels inside the image at the borders."""
    for axis in (-2, -1):
        n = x.shape[axis]
        sums = np.cumsum(x, axis=axis, dtype=np.float64)
        sums = np.concatenate([np.zeros_like(np.take(sums, [0], axis=axis)), sums], axis=axis)
        high = np.minimum(np.arange(n) + radius + 1, n)
        low = np.maximum(np.arange(n) - radius, 0)
        shape = [1] * x.ndim
        shape[axis] = n
        x = (np.take(sums, high, axis=axis) - np.take(sums, low, axis=axis)) / (high - low).reshape(shape)
    return x.astype(np.float32)


def linear_fits(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with source ~ a * guide + b in every window, averaged over the windows covering each pixel (He et
    al.'s guided filter); guide (h, w), source (C, h, w)."""
    mean_guide, mean_source = box(guide, radius), box(source, radius)
    covariance = box(guide * source, radius) - mean_guide * mean_source
    variance = box(guide * guide, radius) - mean_guide * mean_guide
    a = covariance / (variance + eps)
    b = mean_source - a * mean_guide
    return box(a, radius), box(b, radius)


def bilinear_taps(full: int, low: int, start: int = 0, stop: int | None = None):
    """For full-resolution positions start..stop, the two low-resolution neighbours and the weight of the second:
    bilinear upsampling with pixel centres aligned (align_corners=False), clamped at the borders."""
    positions = (np.arange(start, full if stop is None else stop) + 0.5) * low / full - 0.5
    positions = np.clip(positions, 0, low - 1)
    first = np.floor(positions).astype(np.int64)
    second = np.minimum(first + 1, low - 1)
    return first, second, (positions - first).astype(np.float32)


def upsample_rows(x: np.ndarray, taps) -> np.ndarray:
    first, second, weight = taps
    return x[..., first, :] * (1 - weight)[:, None] + x[..., second, :] * weight[:, None]


def upsample_columns(x: np.ndarray, taps) -> np.ndarray:
    first, second, weight = taps
    return x[..., first] * (1 - weight) + x[..., second] * weight


def guided_upsample(
    photo: Image.Image, small_photo: Image.Image, small_stylized: np.ndarray, radius: int = RADIUS, eps: float = EPS
) -> Image.Image:
    """The stylization `small_stylized` ((1, 3, h, w) in [0, 1]) of `small_photo` (h x w), brought to the size of
    `photo` with the guided filter; both photos and the result are RGB images."""
    a, b = linear_fits(luminance(small_photo), small_stylized[0].astype(np.float32), radius, eps)
    width, height = photo.size
    low_height, low_width = a.shape[-2:]
    columns = bilinear_taps(width, low_width)
    out = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, BAND_ROWS):
        bottom = min(top + BAND_ROWS, height)
        rows = bilinear_taps(height, low_height, top, bottom)
        band_a = upsample_columns(upsample_rows(a, rows), columns)
        band_b = upsample_columns(upsample_rows(b, rows), columns)
        guide = luminance(photo.crop((0, top, width, bottom)))
        result = np.clip(band_a * guide + band_b, 0, 1)
        out[top:bottom] = (result.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(out)
