import json
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import torch
from conftest import copy_of
from PIL import Image

from fst.backends import OnnxBackend, TorchBackend
from fst.errors import FstError
from fst.export import export_onnx
from fst.stylize import Stylizer
from fst.transformer import TransformerNet


def test_onnx_statistics_graphs_match_pytorch(models):
    checkpoint, onnx_path = models
    torch_stylizer, onnx_stylizer = Stylizer(checkpoint, "cpu"), Stylizer(onnx_path, "cpu")
    images = np.random.default_rng(0).random((1, 3, 40, 56), dtype=np.float32)
    a, b = torch_stylizer.backend.norm_stats(images), onnx_stylizer.backend.norm_stats(images)
    assert len(a) == len(b) == 7  # 3 downsampling convs, 2 in the residual block, 2 upsampling
    for (mean_a, var_a), (mean_b, var_b) in zip(a, b):
        np.testing.assert_allclose(mean_b, mean_a, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(var_b, var_a, rtol=1e-4, atol=1e-5)
    tile = images[..., :24, :32]
    np.testing.assert_allclose(
        onnx_stylizer.backend.with_stats(tile, a), torch_stylizer.backend.with_stats(tile, a), rtol=0, atol=1e-4
    )


def test_a_model_exported_with_padding_inside_its_graph_still_runs(tmp_path):
    """Earlier exports padded inside the graph (with runtime Shape ops); the caller's padding is a no-op for them."""
    import warnings

    from fst.transformer import TransformerNet

    torch.manual_seed(0)
    model = TransformerNet(width=4, res_blocks=1).eval()
    path = tmp_path / "old.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.rand(1, 3, 64, 64),), path, input_names=["image"], output_names=["stylized"],
            dynamic_axes={"image": axes, "stylized": axes}, opset_version=18, dynamo=False,
        )  # fmt: skip
    assert "Shape" in {n.op_type for n in onnx.load(path).graph.node}
    images = torch.rand(1, 3, 37, 50)
    with torch.no_grad():
        np.testing.assert_allclose(OnnxBackend(path, cuda=False)(images.numpy()), model(images), rtol=0, atol=1e-4)


def test_an_onnx_model_that_is_not_an_fst_network_is_refused_on_load(tmp_path):
    from onnx import TensorProto, helper

    for name, shape in (("x", ["n", 3, "h", "w"]), ("image", ["n", 3])):
        graph = helper.make_graph(
            [helper.make_node("Identity", [name], ["y"])], "g",
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        )  # fmt: skip
        path = tmp_path / f"{name}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), path)
        with pytest.raises(FstError) as info:
            Stylizer(path)
        assert str(info.value) == (
            f"{path} is not an fst model: expected one input 'image' and one output, float32 of shape "
            f"(batch, 3, height, width); it has inputs {name} (tensor(float), shape {shape}) and outputs y "
            f"(tensor(float), shape {shape})"
        )


def test_a_model_that_changes_the_picture_size_is_refused(tmp_path):
    """An upscaler would be cropped to a corner, or fail inside a blend with the photo: refused on load where its
    graph says so, and on the first picture where it does not."""
    from onnx import TensorProto, helper

    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1.0, 1.0, 2.0, 2.0])
    for out_shape, when in ((["n", 3, "h2", "w2"], "load"), ([None, 3, None, None], "run")):
        graph = helper.make_graph(
            [helper.make_node("Resize", ["image", "", "scales"], ["y"], mode="nearest")], "g",
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], [scales],
        )  # fmt: skip
        path = tmp_path / f"{when}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
        if when == "load":
            with pytest.raises(FstError, match=f"{path} is not an fst model: it changes the picture's size "
                                               r"\(height h in, h2 out\)"):  # fmt: skip
                Stylizer(path, "cpu")
        else:
            with pytest.raises(FstError, match="this model returned a 64x80 picture for a 32x40 image"):
                Stylizer(path, "cpu").backend(np.zeros((1, 3, 32, 40), np.float32))


def test_an_export_runs_on_the_gpu_through_pytorch_where_onnxruntime_has_no_cuda(models, tmp_path, monkeypatch):
    """The plain onnxruntime package runs only on the CPU: on a machine with a GPU, an fp32 export's weights are
    run by PyTorch there instead, and the user is told; never the CPU without a word."""
    import onnxruntime

    from fst.backends import OnnxBackend

    _, onnx_path = models
    images = np.random.default_rng(0).random((1, 3, 36, 44), dtype=np.float32)
    from_weights = TorchBackend(onnx_path, "cpu")  # the same network, read back from the export
    np.testing.assert_allclose(from_weights(images), OnnxBackend(onnx_path, cuda=False)(images), rtol=0, atol=1e-4)

    placed = []
    monkeypatch.setattr("fst.runtimes.torch_cuda", lambda asked=False: True)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    def stand_in(path, device):  # a backend of one style that records where it was asked to run
        placed.append((path, device))
        return SimpleNamespace(styles=[])

    monkeypatch.setattr("fst.runtimes.TorchBackend", stand_in)
    stylizer = Stylizer(onnx_path, max_memory=1.0)  # the budget would ask the GPU for its free memory
    assert placed == [(onnx_path, "cuda")]
    assert stylizer.choice == f"running {onnx_path} on the GPU with PyTorch (this onnxruntime has no CUDA provider)"
    int8 = copy_of(onnx_path, tmp_path / "m-int8.onnx", precision="int8")
    with pytest.raises(FstError, match=f"{int8} is an int8 export, which this onnxruntime runs on the CPU only"):
        Stylizer(int8, max_memory=1.0)
    assert Stylizer(int8, "cpu").path == int8


def two_style_export(tmp_path, **props: str):
    """A network of two styles exported with its metadata `styles` (and others) set to `props`."""
    path = tmp_path / "two.onnx"
    export_onnx(TransformerNet(4, 1, styles=2), path, {"styles": json.dumps(["a", "b"])})
    return copy_of(path, tmp_path / "changed.onnx", **props)


@pytest.mark.parametrize(
    ("styles", "message"),
    [('["a", "b", "c"]', r"its input 'style' takes 2 weights, but its metadata names 3 styles \(a, b, c\)"),
     ("[]", r"its input 'style' takes 2 weights, but its metadata names 0 styles \(no metadata styles\)"),
     ("not json", r"its metadata styles is 'not json': expected a JSON list of names"),
     ('{"a": 1}', r"its metadata styles is '\{\"a\": 1\}': expected a JSON list of names"),
     ("[1, 2]", r"its metadata styles is '\[1, 2\]': expected a JSON list of names")],
)  # fmt: skip
def test_a_style_input_that_disagrees_with_the_metadata_is_refused_on_load(tmp_path, styles, message):
    path = two_style_export(tmp_path, styles=styles)
    with pytest.raises(FstError, match=rf"^{path}: {message}"):
        OnnxBackend(path, cuda=False)


def test_a_run_time_failure_of_onnxruntime_is_one_line_and_the_input_skipped(models, tmp_path, monkeypatch, capsys):
    from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException

    from fst.cli.infer import main

    def run(*args):
        raise RuntimeException("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested "
                               "buffer of size 99999999999\n at Conv node")  # fmt: skip

    monkeypatch.setattr("onnxruntime.InferenceSession.run", run)
    Image.new("RGB", (40, 30), "red").save(tmp_path / "a.png")
    assert main(["--model", str(models[1]), "--input", str(tmp_path / "a.png"), "--output", str(tmp_path / "o"),
                 "--runtime", "onnxruntime"]) == 1  # fmt: skip
    assert capsys.readouterr().err == (
        f"running {models[1].stem}: the full network, in onnxruntime\n"
        f"error: {tmp_path / 'a.png'}: the model failed on a 40x30 image ([ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION "
        ": Failed to allocate memory for requested buffer of size 99999999999); skipped\n"
    )
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_a_model_that_gives_nan_writes_nothing(models, tmp_path, monkeypatch):
    monkeypatch.setattr(OnnxBackend, "__call__", lambda self, images: np.full_like(images, np.nan))
    with pytest.raises(FstError, match=r"gave NaN or infinite values for a 40x30 image$"):
        Stylizer(models[1]).stylize(Image.new("RGB", (40, 30), "red"))


def test_both_backends_provide_the_contract_stylizer_and_tiling_ask_for(models):
    """fst.backends.Backend: every member it names is there, with the same signature, on both implementations."""
    import inspect

    from fst.backends import Backend, OnnxBackend

    members = [name for name in vars(Backend) if not name.startswith("_") or name == "__call__"]
    assert set(members) >= {"use_style", "__call__", "norm_stats", "with_stats"}
    for backend in (OnnxBackend(models[1], cuda=False), TorchBackend(models[0], "cpu")):
        for name in members:
            if callable(getattr(Backend, name)):
                assert inspect.signature(getattr(type(backend), name)) == inspect.signature(getattr(Backend, name))
        for name in Backend.__annotations__:
            assert hasattr(backend, name), (type(backend).__name__, name)
        assert backend.styles == [] and backend.path in models
