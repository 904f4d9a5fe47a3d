"""Shared fixtures: the repo's own sample data, ../shared when present, and a tiny fast training config."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True, scope="session")
def runtime_cache(tmp_path_factory):
    """Runtime measurements (fst.runtimes) go to a folder of the test session's, not the user's cache; the
    command lines run in subprocesses inherit it."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def onnxruntime_unless_asked(monkeypatch):
    """In the tests `auto` runs onnxruntime whatever this machine measures, so that no test's picture depends on
    the machine's timings; OpenVINO is tested by name (test_ovsession, test_runtimes)."""
    import fst.runtimes

    monkeypatch.setattr(fst.runtimes, "measure", lambda path, runtime: {"onnxruntime": 1.0, "openvino": 2.0}[runtime])


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
            "precision": "fp32",  # auto picks bf16 on CPUs with AVX512-BF16: the same results on every CPU
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


def copy_of(source: Path, target: Path, made_from: Path | None = None, **props: str) -> Path:
    """A copy of an ONNX model with metadata added: `made_from` names the network `made_from` holds
    (fst.checkpoint.weights_digest), as an int8 copy or a distilled variant of it records; the graph stays the
    source's, since it is the metadata that fst.backends reads."""
    import onnx

    from fst.checkpoint import network_for, network_weights, weights_digest

    proto = onnx.load(source)
    extra = dict(props)
    if made_from is not None:
        extra["made_from"] = weights_digest(network_for(network_weights(made_from), made_from))
    merged = {p.key: p.value for p in proto.metadata_props} | extra
    del proto.metadata_props[:]
    for key, value in merged.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, target)
    return target


@pytest.fixture(scope="session")
def arbitrary_model(tmp_path_factory):
    """A small arbitrary-style model (fst.decoder): VGG16 to relu2_1, an untrained decoder of width 8, exported."""
    from fst.decoder import Decoder
    from fst.export_arbitrary import export_arbitrary

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("arbitrary") / "arbitrary.onnx"
    export_arbitrary(Decoder("relu2_1", 8), "bundled", path, {"style": "arbitrary", "image_size": "128"})
    return path
