import pytest
import torch
from conftest import STARRY_NIGHT, tiny_config

from fst.errors import ConfigError
from fst.export import export_onnx
from fst.metadata import metadata_for
from fst.styleset import StyleSet, style_set, widened
from fst.transformer import TransformerNet

WAVE = STARRY_NIGHT.with_name("wave.jpg")


def test_photos_go_to_the_styles_in_turn_from_the_data_position():
    styles = StyleSet(["a", "b", "c"], [], [], adding=False)
    indices, weights = styles.assign(4, 4, torch.device("cpu"))
    assert indices.tolist() == [1, 2, 0, 1]  # positions 4..7 modulo 3
    assert weights.tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]]
    adding = StyleSet(["a", "b", "c"], [], [], adding=True)
    indices, weights = adding.assign(4, 2, torch.device("cpu"))
    assert indices is None and weights.tolist() == [[0, 0, 1], [0, 0, 1]]  # the loss holds the new style alone
    assert StyleSet([], [], [], adding=False).assign(0, 2, torch.device("cpu")) == (None, None)


def test_a_style_image_with_a_network_of_several_adds_a_style(tmp_path):
    config = tiny_config(tmp_path)
    assert style_set(config, None, None) == StyleSet([], [], [str(STARRY_NIGHT)], adding=False)
    path = tmp_path / "two.onnx"
    meta = {"name": "two", "styles": ["wave", "mosaic"], "style_images": ["wave.jpg", "mosaic.jpg"],
            "data": {"image_size": 32}}  # fmt: skip
    two = TransformerNet(8, 1, styles=2)
    export_onnx(two, path, metadata_for(meta, 1))
    styles = style_set(config, two, path)
    assert styles == StyleSet(["wave", "mosaic", "starry_night"], ["wave.jpg", "mosaic.jpg", "starry_night.jpg"],
                              [str(STARRY_NIGHT)], adding=True)  # fmt: skip
    with pytest.raises(ConfigError, match="already holds a style named 'wave'"):
        style_set(tiny_config(tmp_path, style_image=str(WAVE)), two, path)
    several = tiny_config(tmp_path, style_image="", styles={"a": str(STARRY_NIGHT), "b": str(WAVE), "c": str(WAVE)})
    with pytest.raises(ConfigError, match="holds 2 styles; styles lists 3"):
        style_set(several, two, path)


def test_widened_keeps_the_trained_styles_and_starts_the_new_one_from_their_mean():
    torch.manual_seed(0)
    two = TransformerNet(8, 1, styles=2)
    two.norm_table.data = torch.randn_like(two.norm_table)
    three = widened(two, StyleSet(["a", "b", "c"], [], [], adding=True))
    assert torch.equal(three.norm_table[:2], two.norm_table)
    assert torch.allclose(three.norm_table[2], two.norm_table.mean(0))
    one = TransformerNet(8, 1)
    seeded = widened(one, StyleSet(["a", "b"], [], [], adding=False))
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        for style in torch.eye(2):  # every style starts as the network of one style it came from
            assert torch.allclose(seeded(image, style), one(image), atol=1e-6)


def test_adding_a_style_changes_its_row_and_nothing_else():
    torch.manual_seed(0)
    model = TransformerNet(8, 1, styles=3)
    model.norm_table.data = torch.randn_like(model.norm_table)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    styles = StyleSet(["a", "b", "c"], [], [], adding=True)
    optimizer = torch.optim.Adam(styles.trained(model), lr=0.1)
    for _ in range(3):
        _, weights = styles.assign(0, 2, torch.device("cpu"))
        model(torch.rand(2, 3, 32, 32), weights).mean().backward()
        styles.keep_old_styles(model)
        optimizer.step()
        optimizer.zero_grad()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k != "norm_table")
    assert torch.equal(before["norm_table"][:2], after["norm_table"][:2])
    assert (before["norm_table"][2] - after["norm_table"][2]).abs().max() > 0.1  # 3 Adam steps of 0.1
