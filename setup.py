"""The wheel carries the shipped styles and the browser demo, which live at the top of a checkout (exports/, web/),
under fst/share/, laid out as in the checkout: fst.stylize finds the styles there by name and fst-serve serves the
page from there. onnxruntime-web comes along when `make web` has fetched it before the build; otherwise fst-serve
says how to get it. An editable install (make setup) reads them from the checkout itself and copies nothing."""

import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB_PAGE = ["web/index.html", "web/app.js", "web/chelsea.jpg"]
WEB_RUNTIME = [  # what web/app.js loads: the all-backends bundle and the WebAssembly build it imports
    "web/node_modules/onnxruntime-web/dist/ort.all.min.mjs",
    "web/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.mjs",
    "web/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm",
]


def shipped_files() -> list[str]:
    """The styles exports/models.json lists (the shipped ones; a user's own exports are not in it), their model
    cards, the index itself, the page, and its runtime where fetched."""
    index = json.loads((ROOT / "exports" / "models.json").read_text())
    models = [f"exports/{m['file']}" for m in index["models"]]
    styles = {m["style"] for m in index["models"]}
    cards = sorted(f"exports/{style}.md" for style in styles if (ROOT / "exports" / f"{style}.md").is_file())
    runtime = WEB_RUNTIME if all((ROOT / name).is_file() for name in WEB_RUNTIME) else []
    return [*models, *cards, "exports/models.json", *WEB_PAGE, *runtime]


class BuildWithShare(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        share = Path(self.build_lib) / "fst" / "share"
        for name in shipped_files():
            (share / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, share / name)


setup(cmdclass={"build_py": BuildWithShare})
