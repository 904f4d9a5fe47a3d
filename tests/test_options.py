"""What a Stylizer is asked, checked once (fst.options): the style scale on by default, and each field's bounds."""

import dataclasses
import re

import numpy as np
import pytest
from PIL import Image

from fst.errors import UsageError
from fst.options import STYLE_SCALE, Options
from fst.stylize import Stylizer


def test_the_style_scale_is_on_by_default_and_none_is_full_resolution():
    assert STYLE_SCALE == 1280 and Options().style_scale == 1280
    assert Options(style_scale=None).style_scale is None
    with pytest.raises(UsageError, match=re.escape("style_scale 31: expected at least 32 pixels")):
        Options(style_scale=31)
    frozen = Options(strength=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.strength = 1.0  # a video's stable variant takes these over whole: nobody changes them on the way
    assert dataclasses.replace(frozen, fast=True) == Options(strength=0.5, fast=True)


def test_a_photo_larger_than_the_style_scale_runs_at_it_by_default_and_whole_on_request(models):
    """A 2000x1000 photo: the network sees 1280x640 by default (strokes of a 1280-pixel picture, brought up along
    the photo), the whole 2000x1000 with style_scale=None; a 720p frame runs as it is either way."""
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1000, 2000, 3), dtype=np.uint8))
    for style_scale, seen_shape in ((STYLE_SCALE, (640, 1280)), (None, (1000, 2000))):
        stylizer = Stylizer(models[1], "cpu", style_scale=style_scale, max_memory=100)
        seen = []
        backend = stylizer.backend
        stylizer.backend = lambda batch: seen.append(tuple(batch.shape[-2:])) or backend(batch)
        assert stylizer.stylize(photo).size == (2000, 1000) and seen == [seen_shape]
        assert stylizer.stylize(photo.resize((1280, 720))).size == (1280, 720) and seen[-1] == (720, 1280)
