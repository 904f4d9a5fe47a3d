import os
import signal
import subprocess
import sys
import time

import onnx
import pytest
import torch
import yaml
from conftest import REPO, copy_of, tiny_config

from fst.checkpoint import load_model
from fst.cli.train import main
from fst.errors import ConfigError
from fst.trainer import Trainer


def test_train_command_line_trains_exports_and_reports(tmp_path, capsys):
    config = tiny_config(tmp_path)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config.to_dict()))
    assert main(["--config", str(tmp_path / "tiny.yaml"), "--no-progress", "--set", "train.steps=2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"training 'tiny' on 7 photos under {config.data.root}, cpu, from scratch"
    assert out[1].startswith("precision fp32 (") and "torch.compile off" in out[1]
    assert [line.split(" loss ")[0] for line in out[2:4]] == ["step 1/2", "step 2/2"]
    onnx_path = tmp_path / "exports" / "tiny.onnx"
    assert out[4].startswith("done: step 2, ") and f"ONNX {onnx_path};" in out[4]
    meta = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    assert meta["style"] == "tiny" and meta["steps"] == "2"
    with pytest.raises(ConfigError, match="--resume and --restart contradict each other"):
        main(["--config", str(tmp_path / "tiny.yaml"), "--resume", "auto", "--restart"])


def test_an_init_that_names_no_model_is_one_line_before_anything_loads(tmp_path):
    config = tiny_config(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    with pytest.raises(ConfigError) as info:
        main(["--config", str(path), "--set", "train.init=rain"])
    assert str(info.value).startswith(f"{path}: train.init = 'rain': expected a checkpoint, an .onnx file or a style")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "exports").exists()


@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGINT, False), (signal.SIGTERM, True)])
def test_a_stop_signal_saves_a_loadable_checkpoint(tmp_path, signum, whole_group):
    """SIGINT to the trainer, and SIGTERM to its whole process group (data workers included, as `kill -- -PGID`
    or a service manager sends it): a checkpoint, one line, exit 128 + signal."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(tmp_path, train={"steps": 100000}, data={"workers": 1}).to_dict()))
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "--config", str(config), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    for line in process.stdout:  # wait until training has taken a few steps
        if line.startswith("step 3/"):
            break
    if whole_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr[-2000:]
    assert "Traceback" not in stderr
    name = signal.Signals(signum).name
    assert stderr.startswith(f"stopped by {name} at step ") and stderr.endswith("; continue with --resume auto\n")
    model, state = load_model(tmp_path / "runs" / "tiny" / "last.pt")
    assert state["step"] >= 3 and "optimizer" in state
    resumed = Trainer(tiny_config(tmp_path, train={"steps": 100000}), resume="auto")
    assert resumed.step == state["step"]


def test_two_processes_under_torchrun_equal_one_with_the_same_global_batch(tmp_path):
    # Weights under which every parameter's gradient is well above rounding level: Adam turns rounding noise in a
    # near-zero gradient into a full-size step, which no tolerance could tell from a real difference.
    weak_style = {"style_weight": 0.5, "tv_weight": 10.0}
    config = tiny_config(tmp_path / "two", data={"batch_size": 1}, loss=weak_style, train={"steps": 3})
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(config.to_dict()))
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(REPO / "train.py"), "--config", str(tmp_path / "two.yaml"), "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done: step 3") == 1  # only rank 0 reports, checkpoints and exports
    single = Trainer(tiny_config(tmp_path / "one", data={"batch_size": 2}, loss=weak_style, train={"steps": 3}))
    logged = []
    single.run(logged.append)
    pair, state = load_model(tmp_path / "two" / "runs" / "tiny" / "last.pt")
    assert state["samples_seen"] == 6 == single.samples_seen
    # Adam's steps are lr = 1e-3: a gradient at rounding level may step either way in one process and the other
    # (seen with 2 threads on an AVX-512 CPU, where the two sum their batches in another order), 2e-3 apart
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(pair.state_dict()[key], value, rtol=0, atol=2.1e-3)
    photos = torch.rand(2, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(pair(photos), single.model.eval()(photos), rtol=0, atol=1e-3)
    lines = [line for line in result.stdout.splitlines() if line.startswith("step 3/3 loss ")]
    assert len(lines) == 1  # the mean loss over both ranks is what one process with both photos sees:
    assert float(lines[0].split()[3]) == pytest.approx(logged[-1].losses["total"], rel=2e-3)  # printed to 4 digits


def test_a_failing_data_worker_ends_the_run_with_one_line(tmp_path):
    """An error inside a DataLoader worker (here a MemoryError) used to leave the trainer waiting forever for
    workers that ignore SIGTERM. The workers are forked, so they inherit the broken dataset patched in here."""
    config = tiny_config(tmp_path, data={"workers": 1})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config.to_dict()))
    code = (
        "import sys, fst.data\n"
        "def broken(self, key): raise MemoryError('out of memory in a worker')\n"
        "fst.data.PhotoDataset.__getitem__ = broken\n"
        "from fst.cli.train import cli\n"
        f"sys.argv = ['train.py', '--config', {str(tmp_path / 'c.yaml')!r}, '--no-progress']\n"
        "cli()\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert time.monotonic() - started < 60
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: loading the photos of step 1 failed: MemoryError: out of memory in a worker"
    )


def test_retraining_over_an_export_says_which_copies_beside_it_are_now_stale(tmp_path, capsys):
    from fst.cli.export import main as export

    config = tiny_config(tmp_path)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config.to_dict()))
    assert main(["--config", str(tmp_path / "tiny.yaml"), "--no-progress", "--set", "train.steps=2"]) == 0
    network = tmp_path / "exports" / "tiny.onnx"
    assert export([str(network), "-o", str(tmp_path / "exports" / "tiny-int8.onnx"), "--int8", "--photos",
                   str(config.data.root)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["--config", str(tmp_path / "tiny.yaml"), "--no-progress", "--restart", "--set", "train.seed=4"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("replaced")]
    assert said == [
        f"replaced the earlier {network}; tiny-int8.onnx beside it were made from the earlier network and are no "
        f"longer used: remake them (python export.py {network} -o NAME-int8.onnx --int8; distill.py --teacher "
        f"{network})"
    ]


def test_a_fast_variant_fine_tuned_under_its_teachers_style_stays_its_fast_variant(models, tmp_path):
    """distill.py, then train.py from its export under the same style image: the result still names the teacher it
    stands in for, so --fast runs it beside the teacher; fine-tuned to another style it names none."""
    from fst.stylize import Stylizer

    _, onnx_path = models
    (tmp_path / "exports").mkdir()
    teacher = copy_of(onnx_path, tmp_path / "exports" / "tiny.onnx", style="tiny", style_image="starry_night.jpg")
    fast = copy_of(onnx_path, tmp_path / "start.onnx", made_from=teacher, style="tiny", style_image="starry_night.jpg",
                   teacher="tiny.onnx")  # fmt: skip
    config = tiny_config(tmp_path, name="tiny-fast", train={"init": str(fast), "steps": 1})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config.to_dict()))
    assert main(["--config", str(tmp_path / "c.yaml"), "--no-progress"]) == 0
    meta = {p.key: p.value for p in onnx.load(tmp_path / "exports" / "tiny-fast.onnx").metadata_props}
    assert (meta["style"], meta["teacher"], meta["steps"]) == ("tiny", "tiny.onnx", "1")
    assert Stylizer(teacher, "cpu", fast=True).path == tmp_path / "exports" / "tiny-fast.onnx"
    other = tiny_config(tmp_path, name="other", style_image=str(REPO / "data" / "styles" / "wave.jpg"),
                        train={"init": str(fast), "steps": 1})  # fmt: skip
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(other.to_dict()))
    assert main(["--config", str(tmp_path / "o.yaml"), "--no-progress"]) == 0
    meta = {p.key: p.value for p in onnx.load(tmp_path / "exports" / "other.onnx").metadata_props}
    assert meta["style"] == "other" and "made_from" not in meta


def test_a_decoder_run_exports_the_arbitrary_style_model(tmp_path, capsys):
    config = tiny_config(tmp_path, style_image="", model={"architecture": "decoder", "encoder_layer": "relu2_1"})
    (tmp_path / "decoder.yaml").write_text(yaml.safe_dump(config.to_dict()))
    assert main(["--config", str(tmp_path / "decoder.yaml"), "--no-progress", "--set", "train.steps=2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("step 1/2 loss ") and " (blocks " in out[2] and ", feature " in out[2]
    meta = {p.key: p.value for p in onnx.load(tmp_path / "exports" / "tiny.onnx").metadata_props}
    assert (meta["kind"], meta["architecture"], meta["levels"], meta["steps"]) == (
        "arbitrary", "decoder", "relu2_1", "2")


def test_every_kind_of_copy_made_from_a_replaced_network_is_named_stale(models, tmp_path):
    """int8, fast, stable and their own copies: each stale when its source was the earlier network or a stale copy."""
    from fst.cli.train import stale_copies
    from fst.export import export_onnx
    from fst.transformer import TransformerNet

    _, onnx_path = models
    folder = tmp_path / "exports"
    folder.mkdir()
    network = copy_of(onnx_path, folder / "s.onnx")
    other = tmp_path / "other.onnx"
    torch.manual_seed(9)
    export_onnx(TransformerNet(8, 1).eval(), other, {})
    for name, source in (("s-int8", network), ("s-stable", network), ("s-fast", other)):
        copy_of(onnx_path, folder / f"{name}.onnx", made_from=source)
    copy_of(onnx_path, folder / "s-stable-int8.onnx", made_from=folder / "s-stable.onnx")
    copy_of(onnx_path, folder / "s-fast-stable.onnx", made_from=folder / "s-fast.onnx")
    said = stale_copies(network)
    assert said.startswith("; s-fast.onnx, s-fast-stable.onnx beside it were made from the earlier network")
    (folder / "s.onnx").write_bytes(other.read_bytes())  # retrained: everything made from the old one is stale
    said = stale_copies(network)
    assert said.startswith("; s-int8.onnx, s-stable.onnx, s-stable-int8.onnx beside it were made from the earlier")
