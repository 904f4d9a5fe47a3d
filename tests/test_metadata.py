import json
import re

import onnx
import pytest

from fst.errors import FstError
from fst.export import export_onnx
from fst.metadata import inherited_metadata, metadata_for, write_model_index
from fst.transformer import TransformerNet

CONFIG = {"name": "wave-rt", "style_image": "styles/wave.jpg", "data": {"image_size": 256}}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("metadata") / "m.onnx"
    export_onnx(TransformerNet(width=4, res_blocks=1).eval(), path, {"style": "test", "image_size": "32"})
    return path


def test_metadata_names_the_style_image_and_the_architecture():
    assert metadata_for(CONFIG | {"made_from": "abc"}, 300) == {
        "style": "wave-rt", "image_size": "256", "steps": "300", "architecture": "johnson",
        "style_image": "wave.jpg", "made_from": "abc",
    }  # fmt: skip
    several = {"name": "two", "styles": {"a": "x/a.png", "b": "y/b.jpg"}, "data": {"image_size": 64},
               "model": {"architecture": "realtime"}}  # fmt: skip
    assert metadata_for(several, 5) == {
        "style": "two", "image_size": "64", "steps": "5", "architecture": "realtime",
        "styles": '["a", "b"]', "style_images": '["a.png", "b.jpg"]',
    }  # fmt: skip


def test_a_network_trained_with_the_temporal_term_records_its_weight():
    """fst.catalogue.trained_stable reads it: a video gives such a network the lighter filter."""
    assert metadata_for(CONFIG | {"loss": {"temporal_weight": 5.0}}, 2500)["temporal_weight"] == "5"
    assert metadata_for(CONFIG | {"loss": {"temporal_weight": 0.5}}, 1)["temporal_weight"] == "0.5"
    assert "temporal_weight" not in metadata_for(CONFIG | {"loss": {"temporal_weight": 0.0}}, 1)


def test_a_network_fine_tuned_from_a_fast_variant_keeps_what_it_stands_in_for(tmp_path):
    """inherited_metadata: the same style image keeps style, made_from and teacher; another image or a checkpoint
    keeps nothing."""
    fast = tmp_path / "wave-fast.onnx"
    meta = metadata_for({**CONFIG, "name": "wave", "made_from": "d1g3st"}, 9) | {"teacher": "wave.onnx"}
    export_onnx(TransformerNet(width=4, res_blocks=1).eval(), fast, meta)
    assert inherited_metadata(fast, "other/wave.jpg") == {
        "style": "wave",
        "made_from": "d1g3st",
        "teacher": "wave.onnx",
    }
    assert inherited_metadata(fast, "styles/candy.jpg") == {}
    assert inherited_metadata(tmp_path / "last.pt", "styles/wave.jpg") == {}
    assert inherited_metadata(None, "styles/wave.jpg") == {}


def test_model_index_tells_the_variants_and_a_realtime_fast_variant_from_a_narrower_johnson_one(tmp_path):
    """The browser demo starts on a realtime network where one is shipped, so the index says which is which; a
    stable variant (for video) is named as one, in int8 too."""
    names = (("a-fast.onnx", "johnson"), ("b-fast-stable.onnx", "realtime"), ("b-fast.onnx", "realtime"),
             ("c-stable.onnx", "johnson"), ("c-stable-int8.onnx", "johnson"), ("c.onnx", "johnson"))  # fmt: skip
    for name, architecture in names:
        net = TransformerNet(width=4, res_blocks=1, architecture=architecture).eval()
        export_onnx(net, tmp_path / name, metadata_for({**CONFIG, "model": {"architecture": architecture}}, 1))
    index = json.loads(write_model_index(tmp_path).read_text())
    assert [(m["file"], m["variant"], m["architecture"]) for m in index["models"]] == [
        ("a-fast.onnx", "fast", "johnson"), ("b-fast-stable.onnx", "fast-stable", "realtime"),
        ("b-fast.onnx", "fast", "realtime"), ("c-stable-int8.onnx", "stable", "johnson"),
        ("c-stable.onnx", "stable", "johnson"), ("c.onnx", "full", "johnson")]  # fmt: skip


def test_model_index_lists_fst_models_with_their_convention(exported, tmp_path):
    from onnx import TensorProto, helper

    path = exported
    (tmp_path / "b.onnx").write_bytes(path.read_bytes())
    (tmp_path / ".b.4242.tmp.onnx").write_bytes(path.read_bytes())  # left by a killed write: not listed
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )  # fmt: skip
    onnx.save(helper.make_model(graph), tmp_path / "a-not-fst.onnx")
    index = json.loads(write_model_index(tmp_path).read_text())
    assert index["io"] == {
        "input": "image", "output": "stylized", "layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0],
        "side_multiple": 4, "pad_mode": "reflect",
    }  # fmt: skip
    [entry] = index["models"]
    assert entry["file"] == "b.onnx" and entry["style"] == "test" and entry["precision"] == "fp32"
    assert entry["variant"] == "full" and entry["architecture"] == "johnson"
    assert entry["image_size"] == 32 and entry["input_shape"] == ["batch", 3, "height", "width"]
    (tmp_path / "c.onnx").write_text("not a model")
    with pytest.raises(FstError, match=f"{tmp_path / 'c.onnx'} is not a loadable ONNX model"):
        write_model_index(tmp_path)
    (tmp_path / "c.onnx").unlink()
    proto = onnx.load(path)
    proto.metadata_props.add(key="image_size", value="big")
    onnx.save(proto, tmp_path / "d.onnx")
    with pytest.raises(FstError, match=re.escape(f"{tmp_path / 'd.onnx'} is not an fst model: expected the input image "
                       "(and style, for several styles) and a whole number as its image_size metadata, found inputs "
                       "image and 'big'")):  # fmt: skip
        write_model_index(tmp_path)
