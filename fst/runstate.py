"""A training run's state and record: what it reports as it goes (Progress), how it ends (TrainResult,
TrainingInterrupted), what it keeps in its folder (TensorBoard scalars, sample grids), and what fst.trainer saves
at each checkpoint, with the checks before a run continues from one (the same kind of run, the same network, the
same number of teachers), then its restoring.

The state is everything that makes resuming exact: the network, Adam's and the grad scaler's state, the random
generators, the step and the data position (fst.data.PositionSampler), beside the resolved config and what the
objective adds (the styles of several, a teacher's digest; `distill` marks a distillation's checkpoints).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fst.checkpoint import list_checkpoints, load_checkpoint
from fst.config import Config, ModelConfig
from fst.data import to_image
from fst.errors import ConfigError, FstError
from fst.grid import image_grid
from fst.version import __version__


class TrainingInterrupted(FstError):
    """SIGINT or SIGTERM arrived; a checkpoint was saved. Exit code 128 + signal number, as shells expect."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum
        self.label = ""


@dataclass
class Progress:
    """What `Trainer.run` tells its callback after every step (on rank 0)."""

    step: int
    steps: int
    losses: dict[str, float] | None  # means over the steps since the last log, at log steps only
    images_per_second: float | None  # over the same steps
    eta_seconds: float | None
    skipped: list[str]  # unreadable files first met in this step's batch


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path | None
    images_per_second: float
    skipped_files: int


def run_kind(state_or_config: dict | Config) -> str:
    """ "distillation" for a checkpoint or config of a distillation (fst.distill), else "training"."""
    if isinstance(state_or_config, Config):
        return "distillation" if state_or_config.distill.teachers else "training"
    return "distillation" if "distill" in state_or_config else "training"


def training_state(config: Config, step: int, samples_seen: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                   scaler: torch.amp.GradScaler, fields: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """What a checkpoint of a run holds; `fields`: the objective's own (Objective.checkpoint_fields)."""
    return {
        "fst_version": __version__,
        "step": step,
        "samples_seen": samples_seen,
        "config": config.to_dict(),
        "model": model.state_dict(),
        **fields,
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all()},
    }


def check_resumable(state: dict[str, Any], path: Path, config: Config) -> None:
    """Refuse, in one line, a checkpoint that `config` cannot continue: another kind of run, a network's weights
    without the training state, another count of teachers, or another network."""
    found, kind = run_kind(state), run_kind(config)
    if found != kind:
        raise FstError(f"cannot resume from {path}: it is a {found} checkpoint, not a {kind}; pick another run "
                       "folder, or --restart")  # fmt: skip
    if any(key not in state for key in ("optimizer", "samples_seen", "rng")):
        raise FstError(f"cannot resume from {path}: it holds a network but no training state")
    taught = len(state.get("distill", {}).get("teachers", []))
    if taught != len(config.distill.teachers):  # one style each: another count is another network
        raise FstError(f"cannot resume from {path}: it was distilled from {taught} teacher(s), not "
                       f"{len(config.distill.teachers)}: give the same teachers, or --restart")  # fmt: skip
    current = dataclasses.asdict(config.model)
    saved = dataclasses.asdict(ModelConfig()) | state["config"]["model"]  # keys added since: their defaults
    if saved != current:
        diffs = ", ".join(f"model.{k}: {saved.get(k)} -> {v}" for k, v in current.items() if saved.get(k) != v)
        raise ConfigError(f"cannot resume from {path}: the config changes the network ({diffs})")


def resume_from(path: Path, config: Config, model: nn.Module, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler) -> tuple[int, int]:  # fmt: skip
    """Load the checkpoint at `path` into the run once check_resumable allows it; returns (step, samples_seen)."""
    state = load_checkpoint(path)
    check_resumable(state, path, config)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if "scaler" in state and scaler.is_enabled():
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["step"], state["samples_seen"]


def not_finite(run_dir: Path, config: Config, step: int, losses: dict[str, float]) -> FstError:
    """The error that stops a run whose loss is not finite: the step and terms, the last good checkpoint, a way on."""
    terms = ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
    existing = list_checkpoints(run_dir)
    kept = f"the last good checkpoint is {existing[-1]}" if existing else "no checkpoint had been written yet"
    return FstError(f"the loss is not finite at step {step} ({terms}); {kept}; try a lower train.lr (now "
                    f"{config.train.lr:g}) or smaller loss weights")  # fmt: skip


def log_scalars(writer: Any, step: int, means: dict[str, float], lr: float, rate: float) -> None:
    """The losses (means since the last log), learning rate and speed of a log step, in TensorBoard."""
    for k, v in means.items():
        writer.add_scalar(f"loss/{k}", v, step)
    writer.add_scalar("lr", lr, step)
    writer.add_scalar("images_per_second", rate, step)


def save_samples(writer: Any, run_dir: Path, step: int, rows: list[torch.Tensor]) -> None:
    """Rows of images, (N, 3, H, W) in [0, 1] each, as one grid: in TensorBoard and run_dir/samples/."""
    grid = image_grid([[to_image(image) for image in row.float().cpu()] for row in rows])
    writer.add_image("samples", np.asarray(grid), step, dataformats="HWC")
    folder = run_dir / "samples"
    folder.mkdir(exist_ok=True)
    grid.save(folder / f"step_{step:07d}.png")
