"""What a Stylizer is asked to do, checked once: `Options`, one frozen value that a video's stable variant and the
painting's model take over whole (dataclasses.replace), blend and all. fst.stylize.Stylizer documents each field.

The style scale is on by default: a photo larger than STYLE_SCALE pixels on its long side is stylized at that size
and brought up along its edges (fst.guided), so a phone photo gets the strokes of the painting and not confetti a
few pixels wide (the networks learnt their strokes on 256-pixel crops); None paints at full resolution.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np

from fst.architectures import MIN_SIDE
from fst.devices import DEVICE_NAMES, is_device_name
from fst.errors import UsageError

STYLE_SCALE = 1280  # the default working size: 720p runs whole, larger photos at 1280 on the long side
PAINTING_WORKING_SIDE = 1280  # the longest side a painting's model runs at (720p whole): its VGG16 needs ~1 KB a pixel


@dataclasses.dataclass(frozen=True)
class Options:
    """How a Stylizer runs its model (each one as Stylizer's docstring says), checked when made: one value that a
    video's stable variant takes over whole (dataclasses.replace), blend and all."""

    device: str = "auto"
    tile: int | None = None
    overlap: int = 0
    preserve_colors: bool = False
    strength: float = 1.0
    max_memory: float | None = None
    style_scale: int | None = STYLE_SCALE
    int8: bool = True
    fast: bool = False
    compile: bool = False
    style: str | dict[str, float] | None = None
    runtime: str = "auto"
    painting: str | Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or not is_device_name(self.device):
            raise UsageError(f"device {self.device!r}: expected {DEVICE_NAMES}")
        for name in ("tile", "overlap", "style_scale"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
                raise UsageError(f"{name} {value!r}: expected a whole number of pixels")
        if self.tile is not None and self.tile < 4 * MIN_SIDE:
            raise UsageError(f"tile {self.tile}: expected at least {4 * MIN_SIDE} pixels")
        if self.overlap < 0:
            raise UsageError(f"overlap {self.overlap}: expected 0 or more pixels")
        strength = self.strength
        if isinstance(strength, bool) or not isinstance(strength, (int, float, np.number)) or not 0 <= strength <= 1:
            raise UsageError(f"strength {strength!r}: expected a number from 0 to 1")
        if self.style_scale is not None and self.style_scale < 4 * MIN_SIDE:
            raise UsageError(f"style_scale {self.style_scale}: expected at least {4 * MIN_SIDE} pixels")
        if self.max_memory is not None and not 0 < self.max_memory < math.inf:
            raise UsageError(f"max_memory {self.max_memory}: expected a number of GB > 0")
        if self.painting is not None and not isinstance(self.painting, (str, os.PathLike)):
            raise UsageError(f"painting {type(self.painting).__name__}: expected the path of the painting's image file")
        if self.painting is not None and (self.style is not None or self.fast or self.tile is not None):
            given = "style" if self.style is not None else "fast" if self.fast else "tile"
            raise UsageError(f"{given} does not go with painting: the painting is the style, and its model runs "
                             "whole (style_scale for large images)")  # fmt: skip
