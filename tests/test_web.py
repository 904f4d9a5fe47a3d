"""The browser demo in headless Chromium and the Node example, each checked against Python onnxruntime on the same
photo. `make test-web` installs their packages and runs these with the figures printed; without Chromium or the
packages they skip, saying which is missing."""

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from chromium import Page, chromium
from conftest import DEMO_PHOTOS, REPO
from PIL import Image

from fst.data import to_tensor
from fst.images import to_array
from fst.onnxrun import onnx_session, run_onnx
from fst.serve import make_server

WEB_RUNTIME = REPO / "web" / "vendor" / "onnxruntime-web"
NODE_RUNTIME = REPO / "web" / "node" / "node_modules" / "onnxruntime-node"
MODEL = "starry_night.onnx"


def python_reference(photo: Path) -> np.ndarray:
    image = to_tensor(Image.open(photo).convert("RGB")).unsqueeze(0)
    return run_onnx(onnx_session(REPO / "exports" / MODEL), image)[0][0]


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 512x512 PNG: lossless, so the browser decodes exactly the pixels Python does."""
    path = tmp_path_factory.mktemp("web") / "astronaut.png"
    Image.open(DEMO_PHOTOS / "astronaut.jpg").convert("RGB").save(path)
    return path


no_chromium = pytest.mark.skipif(
    chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)
no_web_runtime = pytest.mark.skipif(not WEB_RUNTIME.is_dir(), reason="web/vendor/onnxruntime-web is missing")


def run_page(photo: Path, tmp_path: Path, query: str, exports: Path = REPO / "exports", check: bool = True,
             extra: tuple[Path, ...] = ()) -> dict:  # fmt: skip
    """The page's ?test= run on `photo` in headless Chromium (wasm), served as fst.serve serves it (with `extra`
    files beside the photo, under ../test/); check: that it ran without an error."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "web").symlink_to(REPO / "web")
    (site / "exports").symlink_to(exports)
    (site / "test").mkdir()
    shutil.copy(photo, site / "test" / "photo.png")
    for path in extra:
        shutil.copy(path, site / "test" / path.name)
    results: queue.Queue = queue.Queue()
    server = make_server(site, 0, results.put, folders=("web", "exports", "test"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/web/?test=../test/photo.png&ep=wasm&{query}"
    browser = subprocess.Popen(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={tmp_path / 'profile'}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        result = results.get(timeout=180)
    finally:
        browser.kill()
        browser.wait()
        server.shutdown()
        server.server_close()
    assert not check or "error" not in result, result.get("error")
    return result


@no_chromium
@no_web_runtime
def test_the_page_loads_models_from_its_own_server_only(photo, tmp_path):
    """A link to the local page naming another host's models must not run them: refused before any fetch (the
    .invalid name never resolves, so nothing leaves this machine either way)."""
    result = run_page(photo, tmp_path, "models=http://models.invalid/exports/", check=False)
    assert result == {"error": "http://models.invalid/exports/: models and photos load from this page's own server only"}


def find(page: np.ndarray, patch: np.ndarray) -> tuple[int, int]:
    """Where `patch` lies in `page` (row, column of its top-left corner): the best match of its pixels."""
    windows = np.lib.stride_tricks.sliding_window_view(page, patch.shape)[..., 0, :, :, :]
    errors = np.abs(windows - patch).mean(axis=(-3, -2, -1))
    return np.unravel_index(errors.argmin(), errors.shape)


@pytest.fixture
def served():
    """The checkout served as fst-serve serves it: the page's address."""
    server = make_server(REPO, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/web/"
    server.shutdown()
    server.server_close()


STATUS = "(document.getElementById('status')?.textContent ?? 'loading')"  # null until the page has loaded
FINISHED = f"!/^(loading|painting|reading)/.test({STATUS})"
CAPTION = "document.getElementById('output-caption').textContent"


@no_chromium
@no_web_runtime
def test_the_page_opens_on_a_painted_photo_as_a_user_sees_it(served, tmp_path):
    """Opened as a user opens it (no test mode): chelsea.jpg, served with the page, left of the divider as it is and
    right of it painted, and no error. FST_SCREENSHOT=PATH keeps the screenshot (`make test-web`: docs/web.jpg)."""
    with Page(tmp_path / "profile") as page:
        page.open(served)
        page.wait_for(FINISHED)
        assert page.evaluate(STATUS).startswith("done:"), page.evaluate(STATUS)
        assert page.evaluate(CAPTION).startswith("starry night (full): 451x300 in ")
        shot = page.screenshot(tmp_path / "page.png")
    if os.environ.get("FST_SCREENSHOT"):
        Image.open(shot).convert("RGB").save(os.environ["FST_SCREENSHOT"], quality=90)
    screen = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    photo = np.asarray(Image.open(REPO / "web" / "chelsea.jpg").convert("RGB"), dtype=np.int16)  # 451x300
    top, left = find(screen[:, :600], photo[100:124, 40:64])
    top, left = top - 100, left - 40  # the picture's corner: shown at its own size, the divider at its middle
    shown = screen[top : top + 300, left : left + 451]
    assert np.abs(shown[:, :200] - photo[:, :200]).mean() < 3  # the photo, left of the divider
    assert shown[:, 240:].std() > 20 and np.abs(shown[:, 240:] - photo[:, 240:]).mean() > 30  # painted right of it


@no_chromium
@no_web_runtime
def test_a_user_picks_a_painting_blends_styles_and_downloads_the_result(served, tmp_path):
    """What a user clicks: the wave tile paints with wave's full network; the blend tile shows a slider per style;
    Download saves the painted picture, at the photo's size, as a PNG named after the photo and the style; the tile
    of any painting asks for one (not an error)."""
    with Page(tmp_path / "profile") as page:
        page.open(served)
        page.wait_for(FINISHED)
        page.evaluate("document.querySelector('.tile[data-style=wave]').click()")
        page.wait_for(f"{FINISHED} && {CAPTION}.startsWith('wave')")
        assert page.evaluate(CAPTION).startswith("wave (full): 451x300 in ")
        assert page.evaluate("document.querySelector('.tile.chosen').dataset.style") == "wave"
        page.download_to(tmp_path / "downloads")
        page.evaluate("document.getElementById('download').click()")
        saved = tmp_path / "downloads" / "chelsea-wave.png"
        deadline = time.monotonic() + 30
        while not saved.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        page.evaluate("document.querySelector('.tile[data-style=four_styles]').click()")
        page.wait_for(f"{FINISHED} && {CAPTION}.startsWith('four styles')")
        sliders = page.evaluate("[...document.querySelectorAll('#blend label')].map((l) => l.textContent)")
        page.evaluate("document.querySelector('.tile[data-style=arbitrary]').click()")  # no painting given yet
        asked = page.wait_for(f"{STATUS}.startsWith('choose a painting') && {STATUS}")
        status_class = page.evaluate("document.getElementById('status').className")
    assert sliders == ["starry night", "the scream", "wave", "udnie"]
    assert asked.endswith("any painting, no training") and status_class == ""  # asked for, not an error
    painted = np.asarray(Image.open(saved).convert("RGB"), dtype=int)
    photo = np.asarray(Image.open(REPO / "web" / "chelsea.jpg").convert("RGB"), dtype=int)
    assert painted.shape == photo.shape and np.abs(painted - photo).mean() > 30


@no_chromium
@no_web_runtime
def test_the_webcam_view_runs_the_fast_steady_network_and_shows_its_frame_rate(served, tmp_path):
    """Chromium's fake camera (a moving test pattern, 640x480) as the user's webcam: the page switches to the
    style's fast network, steady from frame to frame, shows the frame at its size with the network on a smaller
    copy, and the caption counts frames per second."""
    with Page(tmp_path / "profile") as page:
        page.open(served)
        page.wait_for(FINISHED)
        page.evaluate("document.getElementById('webcam').click()")
        caption = page.wait_for(f"{CAPTION}.includes('frames/s') && {CAPTION}", timeout=60)
        assert page.evaluate("document.getElementById('webcam').textContent") == "Stop the webcam"
        page.evaluate("document.getElementById('webcam').click()")
    # Shown at the camera's 640x480, the network on a copy whose long side the rate decides (512 at the start).
    assert caption.startswith("starry night (fast, steady for video): 640x480 from "), caption
    assert float(caption.split(", ")[-1].split()[0]) > 0


@no_chromium
@no_web_runtime
def test_the_page_stylizes_a_photo_as_python_does(photo, tmp_path):
    result = run_page(photo, tmp_path, f"style={MODEL}&runs=3")
    assert (result["width"], result["height"]) == (512, 512) and result["isolated"] is True
    expected = python_reference(photo)
    output = np.frombuffer(base64.b64decode(result["output"]), dtype=np.float32).reshape(3, 512, 512)
    canvas = np.frombuffer(base64.b64decode(result["canvas"]), dtype=np.uint8).reshape(512, 512, 4)
    error = float(np.abs(output - expected).max())
    levels = np.abs(canvas[..., :3].astype(int) - np.round(expected.transpose(1, 2, 0) * 255).astype(int)).max()
    print(
        f"\nweb demo ({result['backend']}, {result['threads']} threads): 512x512 {MODEL} in "
        f"{', '.join(f'{t:.0f}' for t in result['times'])} ms; max abs difference from Python onnxruntime "
        f"{error:.2g}, canvas within {levels} level(s) of 255"
    )
    assert error < 1e-3
    assert levels <= 1  # the canvas rounds the same floats to 8 bits


@no_chromium
@no_web_runtime
def test_the_page_runs_a_stable_realtime_network_by_default_and_its_frame_rate_at_640x360(tmp_path):
    """What the webcam view runs: the page's default model (a realtime network fine-tuned for video) on a 640x360
    frame, timed over 5 runs after one."""
    frame = tmp_path / "frame.png"
    Image.open(DEMO_PHOTOS / "astronaut.jpg").convert("RGB").resize((640, 360)).save(frame)
    result = run_page(frame, tmp_path, "runs=6")
    index = {m["file"]: m for m in json.loads((REPO / "exports" / "models.json").read_text())["models"]}
    assert (index[result["style"]]["variant"], index[result["style"]]["architecture"]) == ("fast-stable", "realtime")
    assert (result["width"], result["height"]) == (640, 360)
    expected = run_onnx(onnx_session(REPO / "exports" / result["style"]), to_array(Image.open(frame)))[0][0]
    output = np.frombuffer(base64.b64decode(result["output"]), dtype=np.float32).reshape(3, 360, 640)
    error = float(np.abs(output - expected).mean())
    ms = float(np.median(result["times"][1:]))
    print(f"\nweb demo ({result['backend']}, {result['threads']} threads): 640x360 {result['style']} (default) in "
          f"{ms:.0f} ms, {1000 / ms:.1f} frames/s; mean abs difference from Python onnxruntime {error:.2g}")  # fmt: skip
    assert error < 0.01  # int8 arithmetic differs between runtimes (docs/deploying.md), not the picture


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
@pytest.mark.skipif(not NODE_RUNTIME.is_dir(), reason="web/node/node_modules is missing: run `make web`")
def test_the_node_example_stylizes_a_photo_as_python_does(photo, tmp_path):
    out = tmp_path / "out.png"
    subprocess.run(
        ["node", str(REPO / "web" / "node" / "stylize.mjs"), str(REPO / "exports" / MODEL), str(photo), str(out)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    got = np.asarray(Image.open(out).convert("RGB"), dtype=int)
    expected = np.round(python_reference(photo).transpose(1, 2, 0) * 255).astype(int)
    assert got.shape == (512, 512, 3)
    assert np.abs(got - expected).max() <= 1


def test_the_page_reads_the_convention_it_pads_by_from_models_json():
    """web/app.js pads (web/model.js) with index.io.side_multiple and reflects as the graph's caller must; models.json says so."""
    index = json.loads((REPO / "exports" / "models.json").read_text())
    app = (REPO / "web" / "app.js").read_text() + (REPO / "web" / "model.js").read_text()
    assert index["io"]["side_multiple"] == 4 and index["io"]["pad_mode"] == "reflect"
    assert "index.io.side_multiple" in app and "2 * (n - 1) - i" in app  # reflect: index n maps to n - 2
    padded = torch.nn.functional.pad(torch.arange(5.0).view(1, 1, 1, 5), (0, 3, 0, 0), mode="reflect")
    assert padded.flatten().tolist() == [0, 1, 2, 3, 4, 3, 2, 1]  # what `reflect` computes, as torch does


@no_chromium
@no_web_runtime
def test_the_page_blends_the_styles_of_a_model_of_several_as_python_does(photo, tmp_path):
    from fst.export import export_onnx
    from fst.metadata import metadata_for, write_model_index
    from fst.transformer import TransformerNet

    exports = tmp_path / "exports"
    exports.mkdir()
    torch.manual_seed(5)
    network = TransformerNet(8, 1, styles=3).eval()
    network.norm_table.data += torch.randn_like(network.norm_table) * 0.5
    config = {"name": "abc", "styles": ["a", "b", "c"], "style_images": ["a.jpg", "b.jpg", "c.jpg"],
              "data": {"image_size": 64}}  # fmt: skip
    export_onnx(network, exports / "abc.onnx", metadata_for(config, 1))
    write_model_index(exports)
    result = run_page(photo, tmp_path, "style=abc.onnx&blend=a=0.7,c=0.3&runs=1", exports)
    image = to_tensor(Image.open(photo).convert("RGB")).unsqueeze(0).numpy()
    from fst.blend import presence

    feeds = {"style": presence(np.array([0.7, 0.0, 0.3]))}  # the page feeds the shares through presence() too
    expected = run_onnx(onnx_session(exports / "abc.onnx"), image, feeds)[0][0]
    output = np.frombuffer(base64.b64decode(result["output"]), dtype=np.float32).reshape(3, 512, 512)
    assert float(np.abs(output - expected).max()) < 1e-3
    plain = run_onnx(onnx_session(exports / "abc.onnx"), image, {"style": np.eye(3, dtype=np.float32)[0]})[0][0]
    assert float(np.abs(output - plain).max()) > 0.05  # the blend, not the first style alone


@no_chromium
@no_web_runtime
def test_the_page_stylizes_with_a_painting_given_to_it(photo, arbitrary_model, tmp_path):
    """The model of any painting: the page takes the painting's statistics from the graph (Newton-Schulz) where
    Python takes numpy's eigendecomposition; the picture is the same to a fraction of a level."""
    from fst.arbitrary import painting_model
    from fst.metadata import write_model_index

    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(arbitrary_model, exports / "arbitrary.onnx")
    write_model_index(exports)
    painting = tmp_path / "painting.png"
    Image.open(REPO / "data" / "styles" / "wave.jpg").convert("RGB").resize((512, 345)).save(painting)
    result = run_page(photo, tmp_path, "style=arbitrary.onnx&painting=../test/painting.png&runs=1", exports,
                      extra=(painting,))  # fmt: skip
    image = to_tensor(Image.open(photo).convert("RGB")).unsqueeze(0).numpy()
    expected = run_onnx(onnx_session(painting_model(exports / "arbitrary.onnx", painting)), image)[0][0]
    output = np.frombuffer(base64.b64decode(result["output"]), dtype=np.float32).reshape(3, 512, 512)
    error = float(np.abs(output - expected).mean())
    print(f"\nweb demo, any painting: 512x512 in {result['times'][0]:.0f} ms; mean abs difference from Python {error:.2g}")
    assert error < 2 / 255


@no_chromium
@no_web_runtime
def test_the_page_refuses_a_painting_without_texture_as_python_does(photo, tmp_path):
    """The shipped model, a flat colour: the page measures the painting's texture (fst.arbitrary.texture) from the
    graph's own features and says why, where it would paint a blur of the colour over the photo."""
    from fst.metadata import write_model_index

    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(REPO / "exports" / "arbitrary.onnx", exports)  # a link out of the served folders is not served
    write_model_index(exports)
    painting = tmp_path / "flat.png"
    Image.new("RGB", (300, 200), (30, 90, 200)).save(painting)
    result = run_page(photo, tmp_path, "style=arbitrary.onnx&painting=../test/flat.png&runs=1", exports, check=False,
                      extra=(painting,))  # fmt: skip
    assert result.get("error", "").startswith("painting has almost no texture (0."), result
    wave = tmp_path / "wave.jpg"
    shutil.copy(REPO / "data" / "styles" / "wave.jpg", wave)
    (tmp_path / "again").mkdir()
    painted = run_page(photo, tmp_path / "again", "style=arbitrary.onnx&painting=../test/wave.jpg&runs=1", exports,
                       extra=(wave,))  # fmt: skip
    assert painted["style"] == "arbitrary.onnx" and len(painted["times"]) == 1


def test_the_pages_runtime_is_the_version_web_package_json_names():
    """web/vendor/ holds the page's copy of onnxruntime-web (`make vendor-web`): the version npm would fetch, whole."""
    version = json.loads((REPO / "web" / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    bundle = (WEB_RUNTIME / "ort.wasm.min.mjs").read_text()
    assert f"ONNX Runtime Web v{version}\n" in bundle[:200]
    assert f'="{version}"' in bundle  # the version the bundle reports as ort.env.versions.web
    wasm = (WEB_RUNTIME / "ort-wasm-simd-threaded.wasm").read_bytes()
    assert wasm[:4] == b"\0asm" and len(wasm) > 10 * 2**20  # whole, not a Git LFS pointer or a cut file


@no_chromium
@no_web_runtime
def test_the_page_brings_the_networks_picture_of_a_small_copy_up_as_python_does(tmp_path):
    """What the webcam view shows: the network on a copy 320 pixels long, brought to the 640x360 frame along its
    edges; the same as fst.guided on the page's own small copy and Python onnxruntime's picture of it."""
    from fst.guided import guided_upsample

    frame = tmp_path / "frame.png"
    full = Image.open(DEMO_PHOTOS / "astronaut.jpg").convert("RGB").resize((640, 360))
    full.save(frame)
    result = run_page(frame, tmp_path, "runs=4&work=320")
    small = np.frombuffer(base64.b64decode(result["small"]), np.uint8).reshape(180, 320, 4)[..., :3]
    network = run_onnx(onnx_session(REPO / "exports" / result["style"]), to_array(Image.fromarray(small)))[0]
    expected = np.asarray(guided_upsample(full, Image.fromarray(small), network), dtype=int)
    canvas = np.frombuffer(base64.b64decode(result["canvas"]), np.uint8).reshape(360, 640, 4)[..., :3]
    difference = np.abs(canvas.astype(int) - expected)
    ms = float(np.median(result["times"][1:]))
    print(f"\nweb demo ({result['backend']}, {result['threads']} threads): 640x360 from 320x180 {result['style']} in "
          f"{ms:.0f} ms, {1000 / ms:.1f} frames/s; {difference.mean():.2f} levels from Python on average")  # fmt: skip
    assert difference.mean() < 1.5 and np.percentile(difference, 99) <= 8  # the network's floats differ a little
