"""Photo folders: every image file under a root, and the rule that keeps the last few out of training for
evaluation. Without PyTorch, so that a config is checked (fst.config) before PyTorch loads."""

from __future__ import annotations

from pathlib import Path

from fst.errors import FstError
from fst.files import hidden
from fst.images import IMAGE_EXTENSIONS


def find_images(root: str | Path) -> list[Path]:
    """Every image file under `root`, at any depth, in a stable (sorted) order."""
    root = Path(root)
    if not root.is_dir():
        raise FstError(f"data folder not found: {root}")
    paths = sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not hidden(p, root)
    )
    if not paths:
        raise FstError(f"no images under {root} (looked for {', '.join(sorted(IMAGE_EXTENSIONS))} at any depth)")
    return paths


def split_holdout(paths: list[Path], holdout: int) -> tuple[list[Path], list[Path]]:
    """(training photos, held-out photos): the last `holdout` of the sorted `paths` are kept for evaluation.

    A rule rather than a list, so that bench/quality.py finds the same photos from the folder alone.
    """
    if holdout >= len(paths):
        raise FstError(f"data.holdout = {holdout} leaves no training photos ({len(paths)} found)")
    return paths[: len(paths) - holdout], paths[len(paths) - holdout :]
