"""Guided upsampling in the browser against fst.guided on the same pictures: the fits of web/guided.onnx, and their
application at full size in web/guided.js (run by Node)."""

import shutil
import subprocess

import numpy as np
import pytest
from conftest import DEMO_PHOTOS, REPO
from PIL import Image

from fst.guided import EPS, RADIUS, guided_upsample, linear_fits, luminance
from fst.guided_graph import WEB_FILE, guided_graph
from fst.images import to_array


def pictures(size: tuple[int, int]) -> tuple[Image.Image, Image.Image, np.ndarray]:
    """A frame, its small copy (a third of its size) and a "stylized" picture of the copy: its channels swapped,
    with noise."""
    frame = Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB").resize(size)
    small = frame.resize((size[0] // 3, size[1] // 3), Image.Resampling.BILINEAR)
    noise = np.random.default_rng(0).normal(0, 0.05, (1, 3, *small.size[::-1]))
    return frame, small, np.clip(to_array(small)[:, ::-1] + noise, 0, 1).astype(np.float32)


def graph_fits(small: Image.Image, stylized: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(guided_graph().SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"small": to_array(small), "stylized": stylized})[0]


@pytest.mark.parametrize("size", [(640, 360), (401, 293)])
def test_the_graphs_fits_are_fst_guideds(size):
    _, small, stylized = pictures(size)
    slope, offset = linear_fits(luminance(small), stylized[0], RADIUS, EPS)
    fits = graph_fits(small, stylized)
    assert fits.shape == (1, 6, small.height, small.width)
    np.testing.assert_allclose(fits[0], np.concatenate([slope, offset]), rtol=0, atol=2e-4)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_the_page_applies_the_fits_as_fst_guided_does(tmp_path, strength):
    """web/guided.js on the graph's fits and the frame's RGBA bytes: fst.guided's picture within one level (a
    rounding either side of a half), blended with the frame by the strength as the page blends."""
    frame, small, stylized = pictures((401, 293))
    fits = graph_fits(small, stylized)
    (tmp_path / "fits").write_bytes(fits.tobytes())
    (tmp_path / "frame").write_bytes(np.asarray(frame.convert("RGBA")).tobytes())
    script = tmp_path / "apply.mjs"
    script.write_text(f"""
import {{ readFileSync, writeFileSync }} from "fs";
import {{ applyFits }} from "{(REPO / 'web' / 'guided.js').as_uri()}";
const fits = new Float32Array(readFileSync("{tmp_path.as_posix()}/fits").buffer.slice(0));
const frame = readFileSync("{tmp_path.as_posix()}/frame"), out = new Uint8ClampedArray(frame.length);
applyFits(fits, {small.width}, {small.height}, frame, 401, 293, {strength}, out);
writeFileSync("{tmp_path.as_posix()}/out", out);
""")
    subprocess.run(["node", str(script)], check=True, capture_output=True, timeout=120)
    got = np.frombuffer((tmp_path / "out").read_bytes(), np.uint8).reshape(293, 401, 4)
    painted = np.asarray(guided_upsample(frame, small, stylized), dtype=float)
    expected = strength * painted + (1 - strength) * np.asarray(frame, dtype=float)
    difference = np.abs(got[..., :3] - expected)
    assert (got[..., 3] == 255).all() and difference.max() <= 1.5 and (difference > 0.5).mean() < 0.01


def test_the_pages_file_is_what_this_module_makes():
    """web/guided.onnx is committed for the page; after a change to fst.guided_graph, write_web_file() rewrites it."""
    assert WEB_FILE.read_bytes() == guided_graph().SerializeToString()
