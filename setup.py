"""The wheel carries the shipped styles and the browser demo, which live at the top of a checkout (exports/, web/),
under fst/share/, laid out as in the checkout: fst.stylize finds the styles there by name and fst-serve serves the
page from there, with its runtime (onnxruntime-web, kept in web/vendor/). An editable install (make setup) reads them
from the checkout itself and copies nothing."""

import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB_PAGE = ["web/index.html", "web/app.js", "web/model.js", "web/guided.js", "web/guided.onnx", "web/chelsea.jpg"]
WEB_FOLDERS = ["web/paintings", "web/vendor"]  # the tiles' thumbnails; onnxruntime-web with its licence


def shipped_files() -> list[str]:
    """The styles exports/models.json lists (the shipped ones; a user's own exports are not in it), their model
    cards, the index itself, the page and what it loads."""
    index = json.loads((ROOT / "exports" / "models.json").read_text())
    models = [f"exports/{m['file']}" for m in index["models"]]
    styles = {m["style"] for m in index["models"]}
    cards = sorted(f"exports/{style}.md" for style in styles if (ROOT / "exports" / f"{style}.md").is_file())
    folders = sorted(str(path.relative_to(ROOT)) for name in WEB_FOLDERS for path in (ROOT / name).rglob("*")
                     if path.is_file())
    return [*models, *cards, "exports/models.json", *WEB_PAGE, *folders]


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
