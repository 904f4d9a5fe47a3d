"""The wheel: built from this checkout, installed into an empty folder and run from elsewhere with PyTorch made
unimportable, it stylizes a photo with a shipped style by name, lists the styles, and finds the browser demo."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

pytestmark = pytest.mark.skipif(
    not (REPO / "exports" / "models.json").is_file(), reason="exports/models.json is missing: no shipped styles"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple:
    """(the wheel, the folder it was installed into), built offline with this interpreter's setuptools."""
    folder = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q", "-w", str(folder / "dist")],
                   check=True, capture_output=True)  # fmt: skip
    (wheel,) = (folder / "dist").glob("fst_style-*.whl")
    target = folder / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)  # fmt: skip
    return wheel, target


def run_installed(target, code: str, cwd) -> subprocess.CompletedProcess:
    """`code` under python -S (no .pth files, so no editable install of the checkout) with the installed wheel
    first on the path, this environment's packages after it, and `import torch` failing."""
    prelude = (f"import sys; sys.path[:0] = [{str(target)!r}, {sysconfig.get_paths()['purelib']!r}, "
               f"{sysconfig.get_paths()['platlib']!r}]; sys.modules['torch'] = None\n")  # fmt: skip
    return subprocess.run([sys.executable, "-S", "-c", prelude + code], capture_output=True, text=True, cwd=cwd)


def test_the_wheel_holds_every_shipped_model_and_the_page(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    index = json.loads((REPO / "exports" / "models.json").read_text())
    assert {f"fst/share/exports/{m['file']}" for m in index["models"]} <= names
    page = {f"fst/share/web/{path.name}" for path in (REPO / "web").iterdir() if path.suffix in (".js", ".onnx", ".html")}
    assert {"fst/share/exports/models.json", "fst/share/web/guided.onnx"} | page <= names  # all the page loads
    assert not any(name.startswith("fst/share/exports/demo") for name in names)  # a user's own exports stay out
    assert wheel.stat().st_size < 100 * 2**20  # the package index's limit on a file (101.4 MB in December 2026)


def test_an_installed_wheel_stylizes_by_style_name_without_torch(installed, tmp_path):
    _, target = installed
    photo = tmp_path / "photo.png"
    Image.open(REPO / "data" / "demo" / "chelsea.jpg").convert("RGB").resize((128, 96)).save(photo)
    code = (
        "import fst, fst.cli.infer as infer\n"
        f"assert fst.__file__.startswith({str(target)!r}), fst.__file__\n"
        "assert infer.main(['--model', 'starry_night', '--input', 'photo.png', '--output', 'out.png']) == 0\n"
        "assert infer.main(['--list']) == 0\n"
        "from fst.cli.serve import default_root\n"
        "print(default_root())\n"
    )
    done = run_installed(target, code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\nstarry_night " in done.stdout and "non-commercial research and education" in done.stdout
    assert done.stdout.split()[-1] == str(target / "fst" / "share")
    out = np.asarray(Image.open(tmp_path / "out.png"), dtype=float)
    assert out.shape == (96, 128, 3) and np.abs(out - np.asarray(Image.open(photo), dtype=float)).mean() > 20


def test_fst_serve_serves_the_page_and_the_styles_from_an_installed_wheel(installed, tmp_path):
    wheel, target = installed
    names = zipfile.ZipFile(wheel).namelist()
    for runtime in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "LICENSE"):
        assert f"fst/share/web/vendor/onnxruntime-web/{runtime}" in names
    assert {"fst/share/web/model.js", "fst/share/web/paintings/wave.jpg"} <= set(names)
    code = (
        "import threading, urllib.request\n"
        "from fst.cli.serve import main\n"
        "from fst.serve import make_server\n"
        "import fst.cli.serve as serve\n"
        "made = []\n"
        "def start(root, port):\n"
        "    server = make_server(root, 0); made.append(server)\n"
        "    threading.Thread(target=lambda: (urllib.request.urlopen(f'http://127.0.0.1:{server.server_address[1]}'\n"
        "        '/exports/models.json').read() and print('models ok'), urllib.request.urlopen(\n"
        "        f'http://127.0.0.1:{server.server_address[1]}/web/').read() and print('page ok'),\n"
        "        server.shutdown()), daemon=True).start()\n"
        "    return server\n"
        "serve.make_server = start\n"
        "main(['--port', '0'])\n"
    )
    done = run_installed(target, code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "models ok" in done.stdout and "page ok" in done.stdout
    assert f"serving {target / 'fst' / 'share'}" in done.stdout
