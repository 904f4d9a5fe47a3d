"""The deployment snippets of docs/deploying.md and examples/cpp run as written and give what fst gives, within one level of
255 (the 8-bit rounding of the saved image); each skips where its runtime is not installed."""

import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from conftest import DEMO_PHOTOS, REPO
from PIL import Image

from fst.onnxrun import onnx_session, run_onnx

MODEL = REPO / "exports" / "starry_night.onnx"
PHOTO = DEMO_PHOTOS / "chelsea.jpg"  # 451x300: both sides need padding


def snippets() -> dict[str, str]:
    """The ```python blocks of docs/deploying.md's Deploying section, by the module each imports first after numpy."""
    readme = (REPO / "docs" / "deploying.md").read_text()
    section = readme[readme.index("## Deploying\n") :]
    end = section.find("\n## ", 1)
    section = section if end < 0 else section[:end]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return {next(m for m in re.findall(r"^import (\w+)", b, re.M) if m != "numpy"): b for b in blocks}


def reference(rgb: np.ndarray) -> np.ndarray:
    """fst's own output for an RGB uint8 image, as 0-255 floats."""
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    return run_onnx(onnx_session(MODEL), x)[0][0].transpose(1, 2, 0) * 255


def run_snippet(code: str, out, monkeypatch) -> np.ndarray:
    monkeypatch.chdir(REPO)
    exec(code.replace('"chelsea_starry.png"', repr(str(out))), {})
    return np.asarray(Image.open(out).convert("RGB"), dtype=float)


def test_the_deployment_doc_has_the_three_python_snippets():
    assert sorted(snippets()) == ["cv2", "onnxruntime", "openvino"]


def test_the_onnxruntime_snippet(tmp_path, monkeypatch):
    got = run_snippet(snippets()["onnxruntime"], tmp_path / "out.png", monkeypatch)
    expected = reference(np.asarray(Image.open(PHOTO).convert("RGB")))
    assert got.shape == (300, 451, 3) and np.abs(got - expected).max() <= 1


def test_the_opencv_snippet(tmp_path, monkeypatch):
    cv2 = pytest.importorskip("cv2")
    got = run_snippet(snippets()["cv2"], tmp_path / "out.png", monkeypatch)
    expected = reference(cv2.imread(str(PHOTO))[..., ::-1])  # OpenCV's JPEG decoder may differ from Pillow's
    assert got.shape == (300, 451, 3) and np.abs(got - expected).max() <= 1


def test_the_openvino_snippet(tmp_path, monkeypatch):
    pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install openvino)")
    got = run_snippet(snippets()["openvino"], tmp_path / "out.png", monkeypatch)
    expected = reference(np.asarray(Image.open(PHOTO).convert("RGB")))
    assert got.shape == (300, 451, 3) and np.abs(got - expected).max() <= 1


def opencv_cflags() -> list[str] | None:
    if not (shutil.which("g++") and shutil.which("pkg-config")):
        return None
    found = subprocess.run(["pkg-config", "--cflags", "--libs", "opencv4"], capture_output=True, text=True)
    return found.stdout.split() if found.returncode == 0 else None


@pytest.mark.skipif(opencv_cflags() is None, reason="no g++ with OpenCV's C++ library (Debian: libopencv-dev)")
def test_the_cpp_example(tmp_path):
    cv2 = pytest.importorskip("cv2")
    program, out = tmp_path / "stylize", tmp_path / "out.png"
    source = REPO / "examples" / "cpp" / "stylize.cpp"
    subprocess.run(["g++", "-O2", "-o", str(program), str(source), *opencv_cflags()], check=True, timeout=300)
    run = subprocess.run([str(program), str(MODEL), str(PHOTO), str(out)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == f"wrote {out} (451x300)\n", run.stderr
    got = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    assert np.abs(got - reference(cv2.imread(str(PHOTO))[..., ::-1])).max() <= 1
    missing = subprocess.run([str(program), str(MODEL), str(tmp_path / "gone.jpg"), str(out)], capture_output=True)
    assert missing.returncode == 1
    assert missing.stderr.decode().endswith(f"{tmp_path / 'gone.jpg'}: cannot read this image\n")
