"""Pictures as files, PIL images and float arrays: what inference needs, without PyTorch.

The inference path (fst.stylize, fst.backends on an .onnx model, infer.py) works on numpy arrays, float32 NCHW RGB
in [0, 1], so that an install without PyTorch runs the shipped ONNX networks; training converts the same PIL
images to tensors (fst.data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fst.architectures import MIN_SIDE
from fst.errors import FstError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def open_image(path: str | Path) -> Image.Image:
    """Open any common image as 8-bit RGB, or RGBA when it has transparency, with EXIF orientation applied.

    Grayscale, CMYK, palette and 16-bit images are converted; 16-bit values are scaled, not clipped.
    Raises OSError (or a subclass) for an unreadable or truncated file.
    """
    with Image.open(path) as image:
        image.load()
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.point(lambda v: v * 255).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    return image.convert("RGB")


def load_rgb(path: str | Path) -> Image.Image:
    """open_image, with any transparency composited onto white: what the network sees when training."""
    return flatten(open_image(path))


def flatten(image: Image.Image) -> Image.Image:
    """RGBA -> RGB on a white background; RGB unchanged."""
    if image.mode != "RGBA":
        return image
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, image).convert("RGB")


def resize_short_side(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    scale = size / min(width, height)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    return image.resize(new, Image.Resampling.BICUBIC, reducing_gap=3.0)


def resize_long_side(image: Image.Image, size: int) -> Image.Image:
    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new, Image.Resampling.LANCZOS)


def to_array(image: Image.Image) -> np.ndarray:
    """PIL RGB -> float32 (1, 3, H, W) in [0, 1]."""
    return (np.asarray(image.convert("RGB"), dtype=np.float32) / 255).transpose(2, 0, 1)[None].copy()


def from_array(array: np.ndarray) -> Image.Image:
    """float (3, H, W) in [0, 1] -> PIL RGB, rounding to the nearest 8-bit value."""
    data = np.rint(np.clip(array, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    return Image.fromarray(np.ascontiguousarray(data), "RGB")


def split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """(the RGB picture, its alpha channel or None): networks see RGB, transparency is carried around them."""
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    return image.convert("RGB"), alpha


def preserve_colors(photo: Image.Image, stylized: Image.Image) -> Image.Image:
    """The stylized luminance with the photo's colour (YCbCr chroma), as in Gatys et al. 2016."""
    luma = stylized.convert("YCbCr").getchannel("Y")
    _, cb, cr = photo.convert("YCbCr").split()
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


def finish(
    photo: Image.Image, stylized: Image.Image, alpha: Image.Image | None, keep_colors: bool, strength: float
) -> Image.Image:
    """What follows stylization: the photo's colours if asked, the blend with the photo, the alpha channel."""
    if keep_colors:
        stylized = preserve_colors(photo, stylized)
    if strength < 1.0:
        stylized = Image.blend(photo, stylized, strength)
    if alpha is not None:
        if alpha.size != stylized.size:
            alpha = alpha.resize(stylized.size)
        stylized.putalpha(alpha)
    return stylized


MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS  # what PIL refuses to open as a decompression bomb


def check_image_size(width: int, height: int) -> None:
    """Refuse a picture too small for the network or larger than an image file may be, before any copy of it."""
    if min(width, height) < MIN_SIDE:
        raise FstError(f"image of {width}x{height} is too small: each side must be at least {MIN_SIDE}")
    if width * height > MAX_PIXELS:
        raise FstError(f"image of {width}x{height} is {width * height / 1e6:.0f} megapixels, over the limit of "
                       f"{MAX_PIXELS / 1e6:.0f} (as for an image file): resize it first")  # fmt: skip
