import signal

import pytest
import torch
from conftest import tiny_config

from fst.checkpoint import (
    list_checkpoints,
    load_checkpoint,
    load_model,
    network_for,
    network_weights,
    save_checkpoint,
    weights_digest,
)
from fst.errors import FstError
from fst.export import export_onnx
from fst.transformer import TransformerNet


def state_at(step: int, config, model) -> dict:
    return {"step": step, "config": config.to_dict(), "model": model.state_dict()}


def test_keep_last_and_last_pt(tmp_path):
    config = tiny_config(tmp_path)
    model = TransformerNet(8, 1)
    for step in (2, 4, 6):
        save_checkpoint(state_at(step, config, model), tmp_path / "run", keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_0000004.pt", "step_0000006.pt"]
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 6


def test_garbage_and_foreign_files_are_one_line_errors(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(FstError) as info:
        load_checkpoint(garbage)
    assert str(info.value) == f"{garbage} is not an fst checkpoint: torch.load cannot read it (UnpicklingError)"
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(FstError, match="foreign.pt is not an fst checkpoint: it lacks step, config, model"):
        load_model(foreign)
    with pytest.raises(FstError, match="checkpoint not found: .*missing.pt"):
        load_model(tmp_path / "missing.pt")


@pytest.mark.parametrize("architecture", ["johnson", "realtime"])
def test_weights_read_back_from_an_onnx_export_equal_the_checkpoint(tmp_path, architecture):
    torch.manual_seed(0)
    model = TransformerNet(8, 2, architecture).eval()
    export_onnx(model, tmp_path / "m.onnx", {})
    from_onnx = network_weights(tmp_path / "m.onnx")
    assert from_onnx.keys() == model.state_dict().keys()
    for name, value in model.state_dict().items():
        assert torch.equal(from_onnx[name], value), name
    rebuilt = network_for(from_onnx, tmp_path / "m.onnx")  # the architecture told by the weights alone
    assert (rebuilt.architecture, rebuilt.width, rebuilt.res_blocks) == (architecture, 8, 2)


def test_an_fp16_export_is_refused_as_a_source_of_weights(tmp_path):
    model = TransformerNet(8, 2).eval()
    photos = [torch.rand(1, 3, 32, 32)]
    export_onnx(model, tmp_path / "m16.onnx", {}, "fp16", photos)
    with pytest.raises(FstError, match="m16.onnx is an fp16 export, which does not hold the fp32 weights: use the fp32 model or a checkpoint"):
        network_weights(tmp_path / "m16.onnx")


def test_weights_digest_is_the_same_for_a_checkpoint_and_its_export_and_changes_with_any_weight(models):
    checkpoint, onnx_path = models
    model, _ = load_model(checkpoint)
    from_onnx = network_for(network_weights(onnx_path), onnx_path)
    assert weights_digest(model) == weights_digest(from_onnx)
    assert len(weights_digest(model)) == 64
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-6
    assert weights_digest(model) != weights_digest(from_onnx)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_full_disk_is_one_line_naming_the_checkpoint_and_keeps_the_earlier_ones(tmp_path):
    """A file size limit fails writes as a full disk does (a short write, then an error), and torch.save given
    either reports "[enforce fail at inline_container.cc:672] . unexpected pos 40640 vs 40592"."""
    import resource

    model = TransformerNet(16, 3)
    first = save_checkpoint({"step": 1, "config": {}, "model": model.state_dict()}, tmp_path, keep_last=2)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not the process
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, hard))
    try:
        with pytest.raises(FstError, match=r"^cannot write the checkpoint .*step_0000002.pt \(File too large\)$"):
            save_checkpoint({"step": 2, "config": {}, "model": model.state_dict()}, tmp_path, keep_last=2)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert list_checkpoints(tmp_path) == [first] and load_checkpoint(tmp_path / "last.pt")["step"] == 1
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_0000001.pt"]  # no temp file left


@pytest.mark.parametrize("architecture", ["johnson", "realtime"])
def test_a_network_is_built_from_the_arguments_its_file_records(tmp_path, monkeypatch, architecture):
    """A checkpoint records config.model and an export its metadata (architecture, width, res_blocks): the network
    is built from those, not guessed from its weights; a file made before (no width recorded) is still read, by
    the shape of its weights, to the same network."""
    import fst.checkpoint
    from fst.checkpoint import load_network, recorded
    from fst.metadata import metadata_for
    from fst.onnxfile import onnx_metadata

    config = tiny_config(tmp_path, model={"width": 8, "res_blocks": 2, "architecture": architecture})
    torch.manual_seed(0)
    model = TransformerNet(8, 2, architecture).eval()
    checkpoint = save_checkpoint(state_at(1, config, model), tmp_path / "run", keep_last=1)
    export_onnx(model, tmp_path / "new.onnx", metadata_for(config.to_dict(), 1))
    export_onnx(model, tmp_path / "old.onnx", {"style": "tiny", "image_size": "32"})  # as files made before
    assert {k: onnx_metadata(tmp_path / "new.onnx")[k] for k in ("architecture", "width", "res_blocks")} == {
        "architecture": architecture, "width": "8", "res_blocks": "2"}  # fmt: skip
    built = []
    original = fst.checkpoint.network_for
    monkeypatch.setattr(fst.checkpoint, "network_for", lambda w, p, a=None: built.append(a) or original(w, p, a))
    networks = [load_network(path) for path in (checkpoint, tmp_path / "new.onnx", tmp_path / "old.onnx")]
    assert built == [(architecture, 8, 2), (architecture, 8, 2), None]  # recorded, recorded, guessed
    assert len({weights_digest(network) for network in networks}) == 1 and networks[0].architecture == architecture
    assert recorded({"architecture": "decoder", "width": "8", "res_blocks": "1"}) is None  # not a TransformerNet
    assert recorded({"width": "x", "res_blocks": "1"}) is None
