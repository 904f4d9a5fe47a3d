"""What the eye sees of a stylized picture, measured apart from the training loss (which meets a painting's Gram
statistics whether or not the subject survives): how much of the photo's structure is kept, how much a picture
smears or haloes around the photo's strong edges, and the size of its strokes. numpy only, on luminance in [0, 1].

- structure: the correlation of the photo's and the picture's edge strength (the gradient magnitude of their
  luminance, both blurred by STRUCTURE_SIGMA so that strokes smaller than that do not count): 1 where every edge
  of the photo is drawn where it was, 0 where none is.
- subject structure: the same correlation over the part of the photo where its edges are densest (DETAIL_SHARE of
  its pixels: faces, buildings, the subject), so that strokes painted over a flat sky, which is the style's work,
  do not count against the picture as they do in structure.
- halo: around the photo's strongest edges (EDGE_SHARE of its pixels), the blurred gradient a band of pixels off the
  edge carries against the gradient on it, in the picture over the same in the photo: 1 as sharp as the photo, 2
  twice the smear or ghost beside each edge.
- stroke size: the luminance's dominant wavelength in pixels (1 over the power-weighted mean spatial frequency,
  a Hann window against the borders): the scale of the strokes, to set beside the painting's own.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

STRUCTURE_SIGMA = 2.0  # pixels at 512: finer than this is brushwork, not the subject's structure
DETAIL_SHARE, DETAIL_SIGMA = 0.3, 8.0  # the subject: the 30% of pixels densest in edges, at the scale of a feature
EDGE_SHARE = 0.05  # the photo's strongest edges: this share of its pixels
BAND = (3, 8)  # the halo band: from 3 to 8 pixels off an edge


def luminance(image: Image.Image | np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an RGB image, float64 in [0, 1]."""
    rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float64) / 255
    return rgb @ np.array([0.299, 0.587, 0.114])


def blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a 2-D array, separable, edges repeated."""
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="edge")
    rows = np.apply_along_axis(np.convolve, 1, padded, kernel, mode="valid")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, mode="valid")


def edge_strength(values: np.ndarray, sigma: float) -> np.ndarray:
    dy, dx = np.gradient(blur(values, sigma))
    return np.hypot(dx, dy)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two 1-D arrays; 0 where either is constant (nothing drawn, or a flat photo)."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def structure(photo: np.ndarray, picture: np.ndarray, sigma: float = STRUCTURE_SIGMA) -> float:
    """The correlation of the two luminances' edge strength: 1 the photo's structure kept, 0 none of it."""
    return correlation(edge_strength(photo, sigma).ravel(), edge_strength(picture, sigma).ravel())


def subject_structure(photo: np.ndarray, picture: np.ndarray, sigma: float = STRUCTURE_SIGMA) -> float:
    """structure over the photo's most detailed DETAIL_SHARE of pixels (its edge strength blurred by DETAIL_SIGMA)."""
    a, b = edge_strength(photo, sigma), edge_strength(picture, sigma)
    density = blur(a, DETAIL_SIGMA)
    detailed = density >= np.quantile(density, 1 - DETAIL_SHARE)
    return correlation(a[detailed], b[detailed])


def grow(mask: np.ndarray, steps: int) -> np.ndarray:
    """The mask grown by `steps` pixels (8-connected)."""
    grown = mask.copy()
    for _ in range(steps):
        padded = np.pad(grown, 1)
        grown = np.max([padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
                        for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)  # fmt: skip
    return grown


def halo(photo: np.ndarray, picture: np.ndarray) -> float:
    """Off-edge over on-edge gradient around the photo's strongest edges, the picture's over the photo's."""
    strength = edge_strength(photo, 1.0)
    edges = strength >= np.quantile(strength, 1 - EDGE_SHARE)
    band = grow(edges, BAND[1]) & ~grow(edges, BAND[0])

    def spread(values: np.ndarray) -> float:
        gradient = edge_strength(values, STRUCTURE_SIGMA)
        return float(gradient[band].mean() / max(gradient[edges].mean(), 1e-9))

    return spread(picture) / max(spread(photo), 1e-9)


def stroke_size(values: np.ndarray) -> float:
    """The luminance's dominant wavelength in pixels: 1 / its power-weighted mean spatial frequency."""
    height, width = values.shape
    windowed = (values - values.mean()) * np.outer(np.hanning(height), np.hanning(width))
    power = np.abs(np.fft.rfft2(windowed)) ** 2
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    frequency = np.hypot(fy, fx)
    power[0, 0] = 0
    return float(1 / max((frequency * power).sum() / max(power.sum(), 1e-12), 1e-9))
