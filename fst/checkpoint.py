"""Training checkpoints: written atomically, pruned to the newest few, loadable without the trainer.

A checkpoint is one torch file holding the step, the resolved config, the network and the optimizer. The run
folder keeps `checkpoints/step_NNNNNNN.pt` files and `last.pt`, a hard link to the newest one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from fst.errors import FstError
from fst.files import atomic_write
from fst.transformer import TransformerNet


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Flushed to disk before the rename, so even a power cut leaves the previous checkpoint or this one."""
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(state: dict[str, Any], run_dir: Path, keep_last: int) -> Path:
    """Save `state` as checkpoints/step_NNNNNNN.pt, point last.pt at it and delete all but the newest keep_last."""
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{state['step']:07d}.pt"
    save_atomic(state, path)
    with atomic_write(run_dir / "last.pt") as tmp:
        try:
            os.link(path, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(path, tmp)
    for old in list_checkpoints(run_dir)[:-keep_last]:
        old.unlink()
    return path


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run's step checkpoints, oldest first."""
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FstError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several unrelated types for a file that is not a checkpoint
        raise FstError(f"{path} is not a readable fst checkpoint ({e})") from None
    missing = [k for k in ("step", "config", "model") if not isinstance(state, dict) or k not in state]
    if missing:
        raise FstError(f"{path} is not an fst checkpoint: it lacks {', '.join(missing)}")
    return state


def load_model(path: str | Path) -> tuple[TransformerNet, dict[str, Any]]:
    """The trained network in eval mode, and the checkpoint it came from (config, step, ...)."""
    state = load_checkpoint(path)
    model_config = state["config"]["model"]
    model = TransformerNet(model_config["width"], model_config["res_blocks"])
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        detail = " ".join(str(e).split("\n")[1:]).strip()[:300]
        raise FstError(f"{path} does not fit this version's network ({detail})") from None
    return model.eval(), state
