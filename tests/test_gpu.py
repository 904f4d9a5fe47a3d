"""fst.gpu on the CPU: the uint8 frame path gives the float path's picture, whole frames or batches, eager or
compiled; on CUDA the same code adds half precision, channels_last and pinned copies (bench/gpu.py times it)."""

import numpy as np
import pytest
import torch

from fst.backends import TorchBackend
from fst.gpu import FrameStylizer
from fst.images import from_array
from fst.transformer import TransformerNet


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return TransformerNet(8, 1).eval()


def frames(count: int, height: int = 30, width: int = 42) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def float_path(network, frame: np.ndarray) -> np.ndarray:
    """What Stylizer does on a CPU: float32 NCHW through the network, rounded to 8 bits at the end."""
    with torch.no_grad():
        out = network(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255)[0].numpy()
    return np.asarray(from_array(out))


def test_uint8_frames_give_the_float_paths_picture(network):
    (frame,) = frames(1)
    got = FrameStylizer(network, "cpu")(frame)
    assert got.shape == frame.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - float_path(network, frame)).max() <= 1  # the same floats, rounded on each side


def test_a_batch_is_its_frames_one_by_one(network):
    batch = frames(3)
    stylizer = FrameStylizer(network, "cpu")
    one_by_one = np.stack([stylizer(f) for f in batch]).astype(int)
    assert np.abs(stylizer(batch).astype(int) - one_by_one).max() <= 1  # convolutions sum in another order


def test_half_precision_stays_within_a_few_levels(network):
    (frame,) = frames(1, 32, 48)
    half = FrameStylizer(network, "cpu", half=True)(frame).astype(int)
    assert np.abs(half - float_path(network, frame)).mean() < 1.5


def test_the_compiled_frame_path_matches_eager(network):
    (frame,) = frames(1, 36, 44)
    eager = FrameStylizer(network, "cpu")(frame).astype(int)
    compiled = FrameStylizer(network, "cpu", compile=True)(frame).astype(int)
    assert np.abs(compiled - eager).max() <= 1


def test_frames_of_another_kind_are_refused(network):
    with pytest.raises(ValueError, match=r"expected uint8 frames of shape \(H, W, 3\) or \(N, H, W, 3\), got \(4, 4\)"):
        FrameStylizer(network, "cpu")(np.zeros((4, 4), np.uint8))


def test_on_a_gpu_the_stylizer_sends_whole_pictures_through_the_uint8_path(models, monkeypatch):
    """Where PyTorch has CUDA, Stylizer runs whole pictures through FrameStylizer (an array straight through, a
    PIL image or a blend by way of render); tiles and style scales keep the float path. Here "cuda" is the CPU
    underneath."""
    import fst.gpu
    from fst.stylize import Stylizer

    class CpuUnderneath(TorchBackend):
        def __init__(self, path, device):
            super().__init__(path, "cpu")
            self.device = torch.device(device)

    calls = []

    class Recording(FrameStylizer):
        def __init__(self, model, device, compile=False):
            super().__init__(model, "cpu")
            calls.append(("made", str(device), compile))

        def __call__(self, frames):
            calls.append(frames.shape)
            return super().__call__(frames)

    monkeypatch.setattr("fst.runtimes.torch_cuda", lambda asked=False: True)
    monkeypatch.setattr("fst.runtimes.onnx_cuda", lambda: False)
    monkeypatch.setattr("fst.runtimes.TorchBackend", CpuUnderneath)
    monkeypatch.setattr(fst.gpu, "FrameStylizer", Recording)
    (frame,) = frames(1)
    stylizer = Stylizer(models[1], max_memory=1.0, compile=True)
    out = stylizer.stylize(frame)
    assert calls == [("made", "cuda", True), (30, 42, 3)]
    assert np.abs(out.astype(int) - float_path(stylizer.backend.model, frame)).max() <= 1
    blended = Stylizer(models[1], max_memory=1.0, strength=0.5).stylize(frame)
    assert calls[-2:] == [("made", "cuda", False), (30, 42, 3)] and blended.shape == frame.shape
    monkeypatch.setattr(Stylizer, "margin", 24)  # measured on the CPU (test_tiling): this device is not a GPU
    assert not Stylizer(models[1], max_memory=1.0, tile=112, overlap=8).whole(200, 150)  # tiles: the float path


def test_bench_gpu_runs_every_section_on_a_cpu_and_ends_with_its_json_line():
    """bench/gpu.py is the one prepared script for a GPU: the same code, small sizes, on this CPU."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu.py"), "--device", "cpu", "--quick", "--no-compile"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    names = {(row["section"], row["name"]) for row in result["rows"]}
    assert ("inference", "FrameStylizer eager, uint8 host to host") in names
    assert ("inference", "Stylizer.stylize, uint8 array") in names
    assert ("video", "infer.py path, stabilized") in names
    assert ("training", "Trainer.run, fp32, batch 4") in names
    assert all(row["ms"] > 0 for row in result["rows"] if row["ms"] is not None)


@pytest.mark.parametrize("device", ["gpu", "mps", "cuda:x"])
def test_bench_gpu_refuses_a_device_it_has_no_path_for_in_one_line(device):
    import subprocess
    import sys

    from conftest import REPO

    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu.py"), "--device", device], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].endswith(f"argument --device: {device!r}: expected cuda, cuda:N or cpu")
