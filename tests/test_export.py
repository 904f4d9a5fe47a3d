import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from conftest import DEMO_PHOTOS, REPO, tiny_config

from fst.errors import FstError
from fst.export import MAX_ABS_ERROR, MIN_PSNR_DB, export_onnx, max_abs_error, psnr_against
from fst.metadata import model_index
from fst.onnxrun import onnx_session, run_onnx
from fst.transformer import TransformerNet
from fst.version import __version__

SHIPPED = ["starry_night", "the_scream", "udnie", "wave"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = TransformerNet(width=8, res_blocks=2).eval()
    with torch.no_grad():  # make instance norm's affine terms non-trivial, as after training
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = tmp_path_factory.mktemp("export") / "m.onnx"
    report = export_onnx(model, path, {"style": "test", "image_size": "32"})
    assert report.precision == "fp32" and report.psnr_db is None and report.path == path
    return model, path, report.max_abs_error


def test_export_matches_pytorch_on_untraced_sizes(exported):
    model, path, error = exported
    assert 0 <= error <= MAX_ABS_ERROR
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"] and [o.name for o in session.get_outputs()] == [
        "stylized"
    ]
    for shape in [(1, 3, 36, 52), (3, 3, 128, 96), (1, 3, 8, 300)]:  # the graph's own sizes: multiples of 4
        images = torch.rand(shape)
        got = session.run(None, {"image": images.numpy()})[0]
        with torch.no_grad():
            expected = model(images).numpy()
        assert got.shape == shape
        assert np.abs(got - expected).max() <= MAX_ABS_ERROR
    for shape in [(1, 3, 37, 53), (2, 3, 9, 301)]:  # others: padded and cropped by the caller
        images = torch.rand(shape)
        got = run_onnx(session, images)[0]
        with torch.no_grad():
            expected = model(images).numpy()
        assert got.shape == shape
        assert np.abs(got - expected).max() <= MAX_ABS_ERROR


def test_the_graph_needs_no_runtime_shape_arithmetic(exported):
    """OpenCV's DNN rejects Shape; IR 8 loads in onnxruntime 1.14 on; the output's dims have plain names."""
    _, path, _ = exported
    proto = onnx.load(path)
    assert {n.op_type for n in proto.graph.node} == {
        "Pad", "Conv", "InstanceNormalization", "Relu", "Add", "Resize", "Sigmoid"
    }  # fmt: skip
    assert proto.ir_version == 8
    onnx.checker.check_model(proto, full_check=True)
    for value in (proto.graph.input[0], proto.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, "height", "width"]
    assert not proto.graph.value_info and not any(n.metadata_props for n in proto.graph.node)


def test_opencv_dnn_loads_the_export_and_matches_onnxruntime(exported):
    cv2 = pytest.importorskip("cv2")
    _, path, _ = exported
    net, session = cv2.dnn.readNetFromONNX(str(path)), onnx_session(path)
    for shape in [(1, 3, 64, 96), (1, 3, 100, 40)]:
        images = torch.rand(shape)
        net.setInput(images.numpy())
        assert np.abs(net.forward() - run_onnx(session, images)[0]).max() <= 1e-4


def test_the_realtime_network_loads_in_opencv_dnn_and_reads_back(tmp_path):
    """PyTorch exports PixelUnshuffle as 6-D reshapes, which OpenCV's DNN misread (a 96x128 image came out
    192x128); fst.export traces it as a convolution of 0s and 1s, which fst reads back as no layer."""
    cv2 = pytest.importorskip("cv2")
    from fst.checkpoint import network_weights, weights_digest
    from fst.onnxfile import onnx_weights_digest

    torch.manual_seed(0)
    model = TransformerNet(width=8, res_blocks=1, architecture="realtime").eval()
    path = tmp_path / "realtime.onnx"
    export_onnx(model, path, {"style": "test"})
    assert {"Reshape", "Transpose"}.isdisjoint(n.op_type for n in onnx.load(path).graph.node)
    images = torch.rand(1, 3, 96, 128)
    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(images.numpy())
    with torch.no_grad():
        assert np.abs(net.forward() - model(images).numpy()).max() <= 1e-4
    weights = network_weights(path)
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert onnx_weights_digest(path) == weights_digest(model)


def test_a_static_export_has_its_one_size_and_pads_inside(exported, tmp_path):
    cv2 = pytest.importorskip("cv2")
    model, _, _ = exported
    path = tmp_path / "static.onnx"
    report = export_onnx(model, path, {"style": "test"}, static=(83, 117))
    assert report.max_abs_error <= MAX_ABS_ERROR
    proto = onnx.load(path)
    for value in (proto.graph.input[0], proto.graph.output[0]):
        assert [d.dim_value for d in value.type.tensor_type.shape.dim] == [1, 3, 83, 117]
    assert "Shape" not in {n.op_type for n in proto.graph.node} and proto.ir_version == 8
    assert {p.key: p.value for p in proto.metadata_props}["io"].endswith("of shape 1x3x83x117")
    images = torch.rand(1, 3, 83, 117)
    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(images.numpy())
    with torch.no_grad():
        assert np.abs(net.forward() - model(images).numpy()).max() <= 1e-4
    with pytest.raises(FstError, match="this model was exported for 83x117 images only, not 84x117"):
        run_onnx(onnx_session(path), torch.rand(1, 3, 84, 117))


def test_shipped_models_are_portable_and_indexed():
    """exports/models.json, what the browser demo reads, describes the shipped models as they are; each loads in
    OpenCV's DNN and matches onnxruntime."""
    cv2 = pytest.importorskip("cv2")
    index = json.loads((REPO / "exports" / "models.json").read_text())
    current = {m["file"]: m for m in model_index(REPO / "exports")["models"]}
    kinds = [(m["style"], m["variant"], m["precision"]) for m in index["models"]]
    assert kinds == [("arbitrary", "full", "fp32"), ("four_styles", "full", "fp32")] + [
        (style, variant, precision) for style in SHIPPED
        for variant, precision in (("fast-stable", "fp32"), ("fast", "fp32"), ("full", "int8"), ("stable", "int8"),
                                   ("stable", "fp32"), ("full", "fp32"))
    ]  # fmt: skip
    assert index["models"][0]["kind"] == "arbitrary"  # any painting: its statistics are inputs (fst.arbitrary)
    assert index["models"][1]["styles"] == ["starry_night", "the_scream", "wave", "udnie"]
    assert all(current[m["file"]] == m for m in index["models"])
    for entry in index["models"]:  # int8 copies included: onnxruntime 1.16 refuses an unused ai.onnx.ml opset 5
        proto = onnx.load(REPO / "exports" / entry["file"])
        assert proto.ir_version == 8 and [(o.domain, o.version) for o in proto.opset_import] == [("", 18)]
    images = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    variants = ("", "-stable", "-fast", "-fast-stable")
    for name in [style + variant for style in SHIPPED for variant in variants]:
        path = REPO / "exports" / f"{name}.onnx"
        net = cv2.dnn.readNetFromONNX(str(path))
        net.setInput(images.numpy())
        assert np.abs(net.forward() - run_onnx(onnx_session(path), images)[0]).max() <= 1e-3, name
    path, blend = REPO / "exports" / "four_styles.onnx", np.array([0.4, 0.1, 0.3, 0.2], np.float32)
    net = cv2.dnn.readNetFromONNX(str(path))  # the style weights as a second input
    net.setInput(images.numpy(), "image")
    net.setInput(blend, "style")
    assert np.abs(net.forward() - run_onnx(onnx_session(path), images, {"style": blend})[0]).max() <= 1e-3


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

    def forward(self, image, style=None):
        DriftingNet.calls += 1
        return super().forward(image, style) * 0.5 + 0.01 * DriftingNet.calls


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


@pytest.fixture(scope="module")
def photos():
    from fst.quantize import calibration_photos

    return calibration_photos(DEMO_PHOTOS, count=4, size=96)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A briefly trained network: quantization is judged on the activations of a real style network."""
    from fst.trainer import Trainer

    config = tiny_config(tmp_path_factory.mktemp("trained"), train={"steps": 30, "lr": 0.005, "sample_every": 30})
    trainer = Trainer(config)
    trainer.run()
    return trainer.model


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_reduced_precision_reports_psnr(trained, photos, tmp_path, precision):
    model = trained
    path = tmp_path / f"m-{precision}.onnx"
    report = export_onnx(model, path, {"style": "test"}, precision, photos)
    assert report.psnr_db >= MIN_PSNR_DB
    assert report.psnr_db == pytest.approx(psnr_against(model, path, photos))
    proto = onnx.load(path)
    assert {p.key: p.value for p in proto.metadata_props}["precision"] == precision
    assert {p.key: p.value for p in proto.metadata_props}["psnr_db"] == f"{report.psnr_db:.2f}"
    ops = {n.op_type for n in proto.graph.node}
    assert ("DequantizeLinear" in ops) == (precision == "int8")
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 18)]  # none the nodes do not use
    assert proto.ir_version == 8
    if precision == "int8":  # the two convolutions at each end, on full-resolution tensors, stay in float
        dequantized = {n.output[0] for n in proto.graph.node if n.op_type == "DequantizeLinear"}
        convs = [n for n in proto.graph.node if n.op_type == "Conv"]
        assert [n.input[1] in dequantized for n in convs] == [False] * 2 + [True] * (len(convs) - 4) + [False] * 2
    if precision == "fp16":
        conv = next(i for i in proto.graph.initializer if i.name.endswith("net.0.1.weight"))
        assert conv.data_type == onnx.TensorProto.FLOAT16
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(float)" and session.get_outputs()[0].type == "tensor(float)"


def test_low_psnr_is_refused_with_the_figure(exported, photos, tmp_path, monkeypatch):
    model, _, _ = exported
    monkeypatch.setattr("fst.export.MIN_PSNR_DB", 99.0)
    path = tmp_path / "m-int8.onnx"
    with pytest.raises(
        FstError,
        match=r"the int8 export of m-int8.onnx reaches only \d+\.\d dB PSNR against fp32 on "
        r"4 sample photos, below the 99 dB required; nothing was written",
    ):
        export_onnx(model, path, {}, "int8", photos)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_a_full_disk_during_export_is_one_line_and_keeps_the_earlier_file(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "m.onnx"
    path.write_bytes(b"the earlier export")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(onnx, "save", full)
    with pytest.raises(FstError, match=f"^cannot write {path} \\(No space left on device\\); nothing was written$"):
        export_onnx(TransformerNet(4, 0).eval(), path, {})
    assert path.read_bytes() == b"the earlier export" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


@pytest.mark.parametrize("architecture", ["johnson", "realtime"])
def test_pad_inside_gives_any_runtime_the_inputs_size_back(tmp_path, architecture):
    """--pad-inside: a 299x451 photo fed as it is to plain onnxruntime (and OpenVINO where installed) comes back
    299x451, PyTorch's picture; the default export, fed the same, would answer 300x452."""
    import importlib.util

    torch.manual_seed(0)
    model = TransformerNet(8, 1, architecture).eval()
    export_onnx(model, tmp_path / "padded.onnx", {"style": "s"}, pad_inside=True)
    export_onnx(model, tmp_path / "plain.onnx", {"style": "s"})
    photo = np.random.default_rng(0).random((1, 3, 299, 451), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(photo)).numpy()
    session = onnxruntime.InferenceSession(str(tmp_path / "padded.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": photo})[0]
    assert got.shape == (1, 3, 299, 451) and np.abs(got - expected).max() < 1e-4
    plain = onnxruntime.InferenceSession(str(tmp_path / "plain.onnx"), providers=["CPUExecutionProvider"])
    assert plain.run(None, {"image": photo})[0].shape == (1, 3, 300, 452)  # what --pad-inside is for
    meta = {p.key: p.value for p in onnx.load(tmp_path / "padded.onnx").metadata_props}
    assert "any height and width of 8 or more (the graph pads by reflection and crops back itself)" in meta["io"]
    if importlib.util.find_spec("openvino") is not None:
        import openvino

        core = openvino.Core()
        compiled = core.compile_model(str(tmp_path / "padded.onnx"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        assert np.abs(compiled(photo)[0] - expected).max() < 1e-4


def test_pad_inside_in_int8(trained, photos, tmp_path):
    report = export_onnx(trained, tmp_path / "q.onnx", {"style": "s"}, "int8", photos, pad_inside=True)
    assert report.psnr_db >= MIN_PSNR_DB
    session = onnxruntime.InferenceSession(str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"])
    assert session.run(None, {"image": np.random.rand(1, 3, 37, 53).astype(np.float32)})[0].shape == (1, 3, 37, 53)
