import numpy as np
import pytest
import torch

from fst.checkpoint import weights_digest
from fst.errors import FstError
from fst.export import export_onnx
from fst.onnxfile import digest, layer_weights, load_onnx, onnx_metadata, onnx_weights_digest, read_onnx
from fst.transformer import TransformerNet


@pytest.mark.parametrize("architecture", ["johnson", "realtime"])
def test_an_exports_weights_digest_is_its_networks_read_without_torch(tmp_path, architecture):
    torch.manual_seed(0)
    model = TransformerNet(8, 1, architecture).eval()
    export_onnx(model, tmp_path / "m.onnx", {"style": "s"})
    assert onnx_weights_digest(tmp_path / "m.onnx") == weights_digest(model)
    layers = layer_weights(read_onnx(tmp_path / "m.onnx"))
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    assert [op for op, _ in layers].count("Conv") == convs
    assert sum(w.size for _, weights in layers for w in weights) == sum(p.numel() for p in model.parameters())
    assert onnx_metadata(tmp_path / "m.onnx")["style"] == "s"
    with torch.no_grad():
        next(model.parameters())[0, 0, 0, 0] += 1e-6
    assert weights_digest(model) != onnx_weights_digest(tmp_path / "m.onnx")


def test_the_digest_covers_shapes_and_values_in_order():
    a, b = np.zeros((2, 3), np.float32), np.ones(6, np.float32)
    assert digest([a, b]) != digest([b, a])
    assert digest([a]) != digest([a.reshape(3, 2)])  # the same bytes, another shape
    assert digest([a]) == digest([a.astype(np.float64)])  # compared as float32


def test_a_file_that_is_not_onnx_is_one_line(tmp_path):
    (tmp_path / "x.onnx").write_text("not a model")
    with pytest.raises(FstError, match=r"x.onnx is not a readable ONNX model \("):
        load_onnx(tmp_path / "x.onnx")
    with pytest.raises(FstError, match="model not found: .*missing.onnx"):
        load_onnx(tmp_path / "missing.onnx")
