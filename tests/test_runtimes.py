"""Which runtime runs a model on this CPU: measured once, remembered, and said."""

import json
import math

import pytest

import fst.runtimes
from fst.cli.infer import main
from fst.errors import FstError, UsageError
from fst.runtimes import cache_file, choose_runtime
from fst.stylize import Stylizer


@pytest.fixture
def timed(monkeypatch, tmp_path):
    """measure() replaced by given times (seconds per run), counting its calls; a cache of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fst.runtimes, "openvino_installed", lambda: True)
    calls = []

    def use(times: dict[str, float]) -> list:
        monkeypatch.setattr(fst.runtimes, "measure", lambda path, runtime: calls.append(runtime) or times[runtime])
        return calls

    return use


def test_the_faster_runtime_is_measured_once_and_remembered(models, timed):
    calls = timed({"onnxruntime": 0.040, "openvino": 0.016})
    assert choose_runtime(models[1]) == ("openvino", "2.5x onnxruntime's speed on this CPU, measured")
    assert calls == ["onnxruntime", "openvino"]
    assert choose_runtime(models[1]) == ("openvino", "2.5x onnxruntime's speed on this CPU, measured")
    assert calls == ["onnxruntime", "openvino"]  # from the cache
    cached = json.loads(cache_file().read_text())
    assert list(cached.values()) == [{"onnxruntime": 0.040, "openvino": 0.016}]
    models[1].touch()  # the file changed: measured again
    choose_runtime(models[1])
    assert len(calls) == 4


def test_onnxruntime_where_it_is_faster_or_the_other_cannot_run_it(models, timed):
    timed({"onnxruntime": 0.30, "openvino": 0.45})
    assert choose_runtime(models[1]) == ("onnxruntime", "1.5x openvino's speed on this CPU, measured")
    for damaged in ("[1, 2]", "7"):  # JSON, but not the measurements: measured again
        cache_file().write_text(damaged)
        assert choose_runtime(models[1]) == ("onnxruntime", "1.5x openvino's speed on this CPU, measured")
    cache_file().write_text("not json")  # damaged: measured again
    timed({"onnxruntime": 0.30, "openvino": math.inf})
    assert choose_runtime(models[1]) == ("onnxruntime", "openvino cannot run it")
    assert "Infinity" not in cache_file().read_text()  # not remembered: the next run tries again


def test_asked_for_or_not_installed(models, timed, monkeypatch):
    timed({"onnxruntime": 0.040, "openvino": 0.016})
    assert choose_runtime(models[1], "onnxruntime") == ("onnxruntime", "asked for")
    monkeypatch.setattr(fst.runtimes, "openvino_installed", lambda: False)
    assert choose_runtime(models[1]) == ("onnxruntime", "OpenVINO is not installed")
    with pytest.raises(FstError, match=r"^runtime openvino: OpenVINO is not installed here \(pip install openvino\)$"):
        choose_runtime(models[1], "openvino")
    with pytest.raises(UsageError, match=r"^runtime 'tensorrt': expected auto, onnxruntime or openvino$"):
        Stylizer(models[1], runtime="tensorrt")
    with pytest.raises(UsageError, match=r"^runtime onnxruntime runs exported .onnx models; .*\.pt is run by PyTorch"):
        Stylizer(models[0], "cpu", runtime="onnxruntime")  # a checkpoint


@pytest.mark.skipif(not fst.runtimes.openvino_installed(), reason="OpenVINO is not installed (pip install openvino)")
def test_the_stylizer_and_the_command_line_say_which_runtime_runs(models, timed, tmp_path, capsys):
    timed({"onnxruntime": 0.040, "openvino": 0.016})
    stylizer = Stylizer(models[1], "cpu", runtime="onnxruntime")
    assert (stylizer.runtime, stylizer.backend.runtime, stylizer.runtime_reason) == ("onnxruntime", "onnxruntime",
                                                                                    "asked for")  # fmt: skip
    assert Stylizer(models[0], "cpu").runtime == "pytorch"  # a checkpoint
    source = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (40, 30), "red").save(source)
    assert main(["--model", str(models[1]), "--input", str(source), "--output", str(tmp_path / "o.png")]) == 0
    quiet = capsys.readouterr().err
    assert quiet.startswith(f"running {models[1].stem}: the full network, in openvino\n") and "measured" not in quiet
    assert main(["--model", str(models[1]), "--input", str(source), "--output", str(tmp_path / "p.png"), "-v"]) == 0
    assert "runtime: openvino (2.5x onnxruntime's speed on this CPU, measured)\n" in capsys.readouterr().err


def test_versions_are_read_from_package_metadata_without_importing():
    import sys

    import numpy

    from fst.runtimes import version_of

    assert version_of("no-such-distribution", "numpy") == numpy.__version__
    assert version_of("no-such-distribution") == "none"
    before = "openvino" in sys.modules
    version_of("openvino")
    assert ("openvino" in sys.modules) == before  # read, not imported


def test_one_device_vocabulary_for_inference_as_for_training(models, monkeypatch):
    """auto, cpu, cuda, cuda:N and mps, as training takes them: cuda:N picks GPU N for onnxruntime's CUDA provider
    and for PyTorch; where the device is not there, one line naming the device asked for."""
    import fst.devices
    import fst.runtimes
    from fst.devices import cuda_index, cuda_providers
    from fst.errors import FstError
    from fst.runtimes import load_backend

    assert [cuda_index(name) for name in ("cuda", "cuda:3", "cpu", "mps", "auto")] == [0, 3, None, None, None]
    monkeypatch.setattr(fst.devices, "onnx_cuda", lambda: True)
    assert cuda_providers(True, 2) == [("CUDAExecutionProvider", {"device_id": 2}), "CPUExecutionProvider"]
    assert cuda_providers(False, 2) == ["CPUExecutionProvider"]
    monkeypatch.undo()
    monkeypatch.setattr(fst.runtimes, "torch_cuda", lambda asked=False: False)
    monkeypatch.setattr(fst.runtimes, "onnx_cuda", lambda: False)
    with pytest.raises(FstError, match=r"^device cuda:1: neither onnxruntime nor PyTorch has a CUDA device here$"):
        load_backend(models[1], models[1], "cuda:1", True, "auto")
    with pytest.raises(FstError, match=r"^device cuda:1: PyTorch sees no CUDA device here$"):
        load_backend(models[0], models[0], "cuda:1", True, "auto")
    monkeypatch.setattr(fst.runtimes, "torch_mps", lambda: False)
    with pytest.raises(FstError, match=r"^device mps: PyTorch sees no Apple GPU \(MPS\) here$"):
        load_backend(models[1], models[1], "mps", True, "auto")
    monkeypatch.setattr(fst.runtimes, "torch_mps", lambda: True)  # PyTorch on "mps" as it would run there
    monkeypatch.setattr(fst.runtimes, "TorchBackend", lambda path, device: ("torch", path, device))
    loaded = load_backend(models[1], models[1], "mps", True, "auto")
    assert loaded.backend == ("torch", models[1], "mps") and (loaded.runtime, loaded.cuda) == ("pytorch", False)
