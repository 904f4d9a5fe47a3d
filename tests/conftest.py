"""Shared fixtures: the repo's own sample data, ../shared when present, and a tiny fast training config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fst.checkpoint import save_checkpoint
from fst.config import Config, config_from_dict
from fst.export import export_onnx
from fst.transformer import TransformerNet

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
DEMO_PHOTOS = REPO / "data" / "demo"
STARRY_NIGHT = REPO / "data" / "styles" / "starry_night.jpg"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"needs the shared data folder {SHARED} (present in CI, absent in a user's clone)"
)


def tiny_config(tmp_path: Path, **sections: dict) -> Config:
    """A config that trains in well under a second per step: 32 px crops, 8 channels, VGG up to relu2_2 only."""
    raw = {
        "name": "tiny",
        "style_image": str(STARRY_NIGHT),
        "data": {"root": str(DEMO_PHOTOS), "image_size": 32, "batch_size": 2, "workers": 0},
        "model": {"width": 8, "res_blocks": 1},
        "loss": {"style_layers": {"relu1_2": 1.0, "relu2_2": 1.0}, "style_size": 64},
        "train": {
            "steps": 4, "lr": 0.001, "warmup_steps": 0, "lr_schedule": "constant", "seed": 3,
            "log_every": 1, "sample_every": 2, "checkpoint_every": 2,
        },
        "output": {"runs_dir": str(tmp_path / "runs"), "exports_dir": str(tmp_path / "exports")},
    }
    for section, values in sections.items():
        raw[section] = {**raw[section], **values} if isinstance(raw.get(section), dict) else values
    return config_from_dict(raw)


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """The same tiny network as a checkpoint and as an ONNX file."""
    tmp = tmp_path_factory.mktemp("models")
    config = tiny_config(tmp)
    torch.manual_seed(0)
    model = TransformerNet(config.model.width, config.model.res_blocks).eval()
    state = {"step": 1, "config": config.to_dict(), "model": model.state_dict()}
    checkpoint = save_checkpoint(state, tmp / "run", keep_last=1)
    onnx_path = tmp / "m.onnx"
    export_onnx(model, onnx_path, {})
    return checkpoint, onnx_path
