import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from fst import __version__
from fst.errors import FstError
from fst.export import MAX_ABS_ERROR, export_onnx, max_abs_error
from fst.transformer import TransformerNet


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = TransformerNet(width=8, res_blocks=2).eval()
    with torch.no_grad():  # make instance norm's affine terms non-trivial, as after training
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = tmp_path_factory.mktemp("export") / "m.onnx"
    error = export_onnx(model, path, {"style": "test", "image_size": "32"})
    return model, path, error


def test_export_matches_pytorch_on_untraced_sizes(exported):
    model, path, error = exported
    assert 0 <= error <= MAX_ABS_ERROR
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"] and [o.name for o in session.get_outputs()] == [
        "stylized"
    ]
    for shape in [(1, 3, 37, 53), (3, 3, 128, 96), (1, 3, 8, 300)]:
        images = torch.rand(shape)
        got = session.run(None, {"image": images.numpy()})[0]
        with torch.no_grad():
            expected = model(images).numpy()
        assert got.shape == shape
        assert np.abs(got - expected).max() <= MAX_ABS_ERROR


def test_metadata_and_opset(exported):
    _, path, _ = exported
    proto = onnx.load(path)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["style"] == "test" and meta["image_size"] == "32" and meta["fst_version"] == __version__
    assert "float32 NCHW RGB in [0, 1]" in meta["io"]
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 3 and all(d.dim_param for i, d in enumerate(dims) if i != 1)


class DriftingNet(TransformerNet):
    """Adds a Python-side counter to its output: the trace freezes it, so ONNX and PyTorch disagree."""

    calls = 0

    def forward(self, image):
        DriftingNet.calls += 1
        return super().forward(image) * 0.5 + 0.01 * DriftingNet.calls


def test_a_mismatching_export_is_refused_and_writes_nothing(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"previous file")
    with pytest.raises(FstError, match=r"does not match PyTorch: max abs error .* allowed 0.0001; nothing was written"):
        export_onnx(DriftingNet(width=4, res_blocks=0), path, {})
    assert path.read_bytes() == b"previous file"
    assert [p.name for p in tmp_path.iterdir()] == ["broken.onnx"]


def test_max_abs_error_sees_a_different_model(exported, tmp_path):
    _, path, _ = exported
    other = TransformerNet(width=8, res_blocks=2).eval()
    assert max_abs_error(other, path) > 1e-3
