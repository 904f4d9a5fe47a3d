import math

import numpy as np
import pytest
import torch

from fst.blend import model_styles, parse_style, presence, style_names, style_weights
from fst.errors import FstError, UsageError
from fst.export import export_onnx
from fst.metadata import metadata_for
from fst.transformer import TransformerNet


def test_parse_style_reads_names_and_weights():
    assert parse_style("starry_night=0.8,wave=0.2") == {"starry_night": 1.0, "wave": 0.25}  # as ratios to the largest
    assert parse_style("wave") == {"wave": 1.0}
    assert parse_style("wave=1, wave=2") == {"wave": 1.5}  # a style named twice: its weights add up (over 2)


@pytest.mark.parametrize("text", ["wave=-1", "wave=x", "=0.5", "wave=inf", "wave=nan", ","])
def test_parse_style_refuses_what_is_not_a_blend(text):
    with pytest.raises(UsageError, match=f"--style {text}: expected NAME or NAME=WEIGHT"):
        parse_style(text)


def test_huge_weights_blend_as_their_ratios_do():
    names = ["wave", "udnie"]
    assert style_weights(names, "wave=1e308,udnie=1e308", "m.onnx").tolist() == [0.5, 0.5]  # the sum was inf: grey
    assert style_weights(names, "wave=1e308,wave=1e308", "m.onnx").tolist() == [1.0, 0.0]  # inf / inf: black
    weights = style_weights(names, {"wave": 1e308, "udnie": 3e307}, "m.onnx")
    assert weights.tolist() == pytest.approx(presence(np.array([1 / 1.3, 0.3 / 1.3])).tolist())


@pytest.mark.parametrize(
    "asked", [{"wave": 1, "udnie": -0.5}, {"wave": float("inf")}, {"wave": float("nan")}, {"wave": "0.5"},
              {"wave": [1]}, {"wave": True}, {3: 1.0}, {}, ["wave"]],
)  # fmt: skip
def test_the_librarys_blend_is_checked_as_the_command_lines(asked):
    with pytest.raises(UsageError, match=r"^style .*expected a style name, NAME=WEIGHT,\.\.\. or \{name: weight\}"):
        style_weights(["wave", "udnie"], asked, "m.onnx")


def test_style_weights_sum_to_one_in_the_models_order():
    names = ["starry_night", "the_scream", "wave"]
    third = math.sin(math.pi / 18)  # 0.25 asked: 1/2 - sin(asin(1/2) / 3) fed, 0.326
    weights = style_weights(names, "wave=3,starry_night=1", "m.onnx")
    assert weights.tolist() == pytest.approx([0.5 - third, 0, 0.5 + third])
    assert style_weights(names, None, "m.onnx").tolist() == [1.0, 0.0, 0.0]  # the first style alone
    assert style_weights(names, {"the_scream": 2.0}, "m.onnx").tolist() == [0.0, 1.0, 0.0]
    assert style_weights([], None, "m.onnx") is None  # one style: no weights to feed
    with pytest.raises(FstError, match="m.onnx holds no style 'candy'; it holds starry_night, the_scream, wave"):
        style_weights(names, "candy", "m.onnx")
    with pytest.raises(FstError, match="at least one must be above 0"):
        style_weights(names, "wave=0", "m.onnx")
    with pytest.raises(FstError, match="m.onnx holds one style: a blend needs a model of several"):
        style_weights([], "wave", "m.onnx")


def test_the_styles_of_an_export_and_of_a_checkpoint(tmp_path):
    config = {"name": "two", "styles": ["a", "b"], "style_images": ["x/a.jpg", "y/b.png"], "data": {"image_size": 64}}
    path = tmp_path / "two.onnx"
    export_onnx(TransformerNet(4, 1, styles=2), path, metadata_for(config, 1))
    assert model_styles(path) == (["a", "b"], ["a.jpg", "b.png"])
    one = tmp_path / "one.onnx"
    export_onnx(TransformerNet(4, 1), one, {})
    assert style_names(one) == []
    checkpoint = tmp_path / "c.pt"
    torch.save({"step": 1, "model": {}, "config": {"styles": {"a": "x/a.jpg", "b": "b.png"}}}, checkpoint)
    assert model_styles(checkpoint) == (["a", "b"], ["a.jpg", "b.png"])  # a training run's config: name -> image
    assert isinstance(style_weights(["a", "b"], "b", path), np.ndarray)


def test_a_weight_asked_is_the_share_of_the_picture_its_style_takes():
    """presence() inverts smoothstep (3w^2 - 2w^3), the share a weight w in the network gives its style: fed back
    through smoothstep, each weight asked comes out again; the ends and an even blend stay as they are."""
    asked = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    for share in asked:
        fed = presence(np.array([share, 1 - share]))
        assert fed.sum() == pytest.approx(1) and 3 * fed[0] ** 2 - 2 * fed[0] ** 3 == pytest.approx(share, abs=1e-6)
    assert presence(np.array([0.3, 0.7])).tolist() == pytest.approx([0.3633, 0.6367], abs=1e-4)  # by hand
    assert presence(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]
    assert presence(np.array([0.5, 0.5])).tolist() == [0.5, 0.5]
    three = presence(np.array([0.2, 0.3, 0.5]))  # more than two: each through the inverse, then scaled to sum to 1
    assert three.sum() == pytest.approx(1) and three[0] < three[1] < three[2]
