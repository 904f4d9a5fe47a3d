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

import cv2
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
    """Mean over a (2r+1)^2 window of the last two axes, over the pixels inside the image at the borders: window
    sums by OpenCV with zeros outside, divided by how many pixels each window holds inside."""
    size = (2 * radius + 1,) * 2
    count = cv2.boxFilter(np.ones(x.shape[-2:], np.float32), -1, size, normalize=False, borderType=cv2.BORDER_CONSTANT)
    planes = np.asarray(x, np.float32).reshape(-1, *x.shape[-2:])
    sums = [cv2.boxFilter(plane, -1, size, normalize=False, borderType=cv2.BORDER_CONSTANT) for plane in planes]
    return (np.stack(sums) / count).reshape(x.shape)


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


def upsample_band(x: np.ndarray, height: int, width: int, top: int, bottom: int) -> np.ndarray:
    """Rows top..bottom of `x` ((h, w, C) float32) upsampled bilinearly to height x width (pixel centres aligned,
    clamped at the borders, as PyTorch's bilinear with align_corners=False): the rows by their taps, the columns by
    OpenCV's resize, which places them the same way."""
    first, second, weight = bilinear_taps(height, x.shape[0], top, bottom)
    rows = x[first] * (1 - weight)[:, None, None] + x[second] * weight[:, None, None]
    return cv2.resize(rows, (width, bottom - top), interpolation=cv2.INTER_LINEAR).reshape(bottom - top, width, -1)


def guided_upsample(
    photo: Image.Image, small_photo: Image.Image, small_stylized: np.ndarray, radius: int = RADIUS, eps: float = EPS
) -> Image.Image:
    """The stylization `small_stylized` ((1, 3, h, w) in [0, 1]) of `small_photo` (h x w), brought to the size of
    `photo` with the guided filter; both photos and the result are RGB images."""
    a, b = linear_fits(luminance(small_photo), small_stylized[0].astype(np.float32), radius, eps)
    a, b = (np.ascontiguousarray(fit.transpose(1, 2, 0)) for fit in (a, b))  # (h, w, 3), as the image is laid out
    width, height = photo.size
    out = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, BAND_ROWS):
        bottom = min(top + BAND_ROWS, height)
        guide = luminance(photo.crop((0, top, width, bottom)))[..., None]
        result = upsample_band(a, height, width, top, bottom) * guide + upsample_band(b, height, width, top, bottom)
        out[top:bottom] = (np.clip(result, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(out)
