import math
import signal
import subprocess
import sys

import pytest
import torch
import yaml

from fst.checkpoint import list_checkpoints, load_checkpoint, load_model
from fst.config import LossConfig
from fst.data import PhotoDataset, find_images
from fst.errors import ConfigError, FstError
from fst.losses import PerceptualLoss
from fst.trainer import Trainer, load_style_image, sample_grid
from fst.transformer import TransformerNet
from fst.vgg import load_vgg16

from conftest import DEMO_PHOTOS, REPO, STARRY_NIGHT, tiny_config


def test_a_few_steps_on_a_fixed_batch_lower_the_loss():
    torch.manual_seed(0)
    loss_fn = PerceptualLoss(
        load_vgg16("bundled", "relu2_2"),
        LossConfig(style_layers={"relu1_2": 1.0, "relu2_2": 1.0}, content_weight=1.0, style_weight=0.5, tv_weight=10.0),
        load_style_image(str(STARRY_NIGHT), 64),
    )
    model = TransformerNet(width=8, res_blocks=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dataset = PhotoDataset(find_images(DEMO_PHOTOS), image_size=32)
    photos = torch.stack([dataset[(i, i)][0] for i in range(2)])
    history = []
    for _ in range(25):
        loss = loss_fn(model(photos), photos)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert history[-1] < 0.6 * history[0], history


def test_held_out_photos_are_never_trained_on(tmp_path):
    photos = find_images(DEMO_PHOTOS)
    trainer = Trainer(tiny_config(tmp_path, data={"holdout": 2}), progress=False)
    assert trainer.paths == photos[:-2]
    with pytest.raises(FstError, match=f"leaves no training photos \\({len(photos)} found"):
        Trainer(tiny_config(tmp_path, data={"holdout": len(photos)}), progress=False)


def test_run_writes_everything_a_run_promises(tmp_path):
    config = tiny_config(tmp_path, train={"keep_last": 1})
    result = Trainer(config, progress=False).run()
    run = tmp_path / "runs" / "tiny"
    assert result.step == 4 and result.run_dir == run
    assert [p.name for p in list_checkpoints(run)] == ["step_0000004.pt"]  # keep_last: 1
    assert (run / "last.pt").samefile(run / "checkpoints" / "step_0000004.pt")
    assert yaml.safe_load((run / "config.yaml").read_text()) == config.to_dict()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000002.png", "step_0000004.png"]
    assert list(run.glob("events.out.tfevents.*"))
    assert result.onnx_path == tmp_path / "exports" / "tiny.onnx" and result.onnx_path.is_file()
    assert result.images_per_second > 0
    model, state = load_model(run / "last.pt")
    assert state["step"] == 4 and state["config"]["name"] == "tiny"


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    straight = Trainer(tiny_config(tmp_path / "a", train={"steps": 6}), progress=False)
    straight.run()
    Trainer(tiny_config(tmp_path / "b", train={"steps": 3}), progress=False).run()
    resumed = Trainer(tiny_config(tmp_path / "b", train={"steps": 6}), resume="auto", progress=False)
    assert resumed.step == 3
    resumed.run()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    a = load_checkpoint(tmp_path / "a" / "runs" / "tiny" / "last.pt")["optimizer"]["state"]
    b = load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")["optimizer"]["state"]
    assert all(torch.equal(a[i]["exp_avg_sq"], b[i]["exp_avg_sq"]) for i in a)


def test_existing_run_needs_resume_or_restart(tmp_path):
    Trainer(tiny_config(tmp_path, train={"steps": 2}), progress=False).run()
    with pytest.raises(ConfigError, match=r"already holds a run \(last checkpoint step_0000002.pt\): continue it"):
        Trainer(tiny_config(tmp_path), progress=False)
    with pytest.raises(ConfigError, match=r"the config changes the network \(model.width: 8 -> 16\)"):
        Trainer(tiny_config(tmp_path, model={"width": 16}), resume="auto", progress=False)
    fresh = Trainer(tiny_config(tmp_path), restart=True, progress=False)
    assert fresh.step == 0 and not list_checkpoints(tmp_path / "runs" / "tiny")


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, train={"steps": 10}), progress=False)
    real_loss = trainer.loss_fn
    calls = []

    def poisoned(output, photo):
        calls.append(1)
        terms = real_loss(output, photo)
        if len(calls) == 3:
            terms["total"] = terms["total"] * math.nan
        return terms

    trainer.loss_fn = poisoned
    with pytest.raises(FstError) as info:
        trainer.run()
    last = tmp_path / "runs" / "tiny" / "checkpoints" / "step_0000002.pt"
    assert str(info.value).startswith("the loss is not finite at step 3 (total nan, content ")
    assert f"the last good checkpoint is {last}; try a lower train.lr (now 0.001)" in str(info.value)
    assert [p.name for p in list_checkpoints(tmp_path / "runs" / "tiny")] == ["step_0000002.pt"]
    model, state = load_model(tmp_path / "runs" / "tiny" / "last.pt")
    assert state["step"] == 2 and all(torch.isfinite(p).all() for p in model.parameters())


def test_sigint_saves_a_loadable_checkpoint(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(tmp_path, train={"steps": 100000}, data={"workers": 1}).to_dict()))
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "--config", str(config), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    for line in process.stdout:  # wait until training has taken a few steps
        if line.startswith("step 3/"):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT
    assert "Traceback" not in stderr
    assert stderr.startswith("stopped by SIGINT at step ") and stderr.endswith("; continue with --resume auto\n")
    model, state = load_model(tmp_path / "runs" / "tiny" / "last.pt")
    assert state["step"] >= 3 and "optimizer" in state
    resumed = Trainer(tiny_config(tmp_path, train={"steps": 100000}), resume="auto", progress=False)
    assert resumed.step == state["step"]


def test_sample_grid_layout():
    photos, stylized = torch.zeros(2, 3, 4, 5), torch.full((2, 3, 4, 5), 0.5)
    grid = sample_grid(photos, stylized, gap=1)
    assert grid.shape == (3, 2 * 4 + 3, 2 * 5 + 3)
    assert grid[:, 1:5, 1:6].eq(0).all() and grid[:, 6:10, 7:12].eq(0.5).all() and grid[:, 0, :].eq(1).all()


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
    single = Trainer(
        tiny_config(tmp_path / "one", data={"batch_size": 2}, loss=weak_style, train={"steps": 3}), progress=False
    )
    single.run()
    pair, state = load_model(tmp_path / "two" / "runs" / "tiny" / "last.pt")
    assert state["samples_seen"] == 6 == single.samples_seen
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(pair.state_dict()[key], value, rtol=0, atol=1e-3)  # Adam steps are ~1e-3
    photos = torch.rand(2, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(pair(photos), single.model.eval()(photos), rtol=0, atol=1e-3)
    lines = [line for line in result.stdout.splitlines() if line.startswith("step 3/3")]
    assert lines and f"loss {float(lines[0].split()[3]):.4g}" in lines[0]


@pytest.mark.filterwarnings("ignore:train.precision = bf16")  # emulated, and slow, on CPUs without native bf16
def test_bf16_reaches_the_loss_of_fp32(tmp_path):
    finals = {}
    for precision in ("fp32", "bf16"):
        config = tiny_config(tmp_path / precision, train={"steps": 24, "lr": 0.003, "precision": precision})
        trainer = Trainer(config, progress=False)
        trainer.run()
        photos = torch.stack([PhotoDataset(trainer.paths, 32)[(i, i)][0] for i in range(4)])
        with torch.no_grad():
            finals[precision] = trainer.loss_fn(trainer.model(photos), photos)["total"].item()
    assert abs(finals["bf16"] - finals["fp32"]) / finals["fp32"] < 0.05, finals


def test_fp16_needs_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="train.precision = 'fp16' needs a CUDA device"):
        Trainer(tiny_config(tmp_path, train={"precision": "fp16"}), progress=False)


def test_the_learning_rate_follows_the_schedule_step_by_step(tmp_path):
    from fst.schedule import learning_rate

    config = tiny_config(tmp_path, train={"steps": 10, "lr": 0.004, "warmup_steps": 4, "lr_schedule": "cosine"})
    trainer = Trainer(config, progress=False)
    photos = torch.stack([PhotoDataset(trainer.paths, 32)[(i, i)][0] for i in range(2)])
    seen = []
    for _ in range(3):
        trainer.train_step(photos)
        seen.append(trainer.optimizer.param_groups[0]["lr"])
        trainer.step += 1
    assert seen == pytest.approx([0.001, 0.002, 0.003])
    assert [learning_rate(s, config.train) for s in range(3)] == seen


def test_init_takes_the_weights_and_not_the_optimizer_or_step(tmp_path):
    first = Trainer(tiny_config(tmp_path / "a", train={"steps": 3}), progress=False)
    result = first.run()
    weights = first.model.state_dict()
    for source in (result.checkpoint, result.onnx_path):
        config = tiny_config(tmp_path / "b", train={"init": str(source)})
        second = Trainer(config, progress=False)
        assert second.step == 0 and second.init_from == source and not second.optimizer.state
        for name, value in second.model.state_dict().items():
            assert torch.equal(value, weights[name]), (source, name)
    by_name = tiny_config(tmp_path / "c", train={"init": "tiny"}, output={"exports_dir": str(result.onnx_path.parent)})
    assert Trainer(by_name, progress=False).init_from == result.onnx_path
    wider = tiny_config(tmp_path / "d", train={"init": str(result.checkpoint)}, model={"width": 16, "res_blocks": 1})
    with pytest.raises(ConfigError, match="is a network of width 8 with 1 residual blocks; the config asks for "
                                          "model.width 16 and model.res_blocks 1"):  # fmt: skip
        Trainer(wider, progress=False)


def test_a_shipped_style_fine_tunes_to_another_style(tmp_path):
    """The shipped starry_night network, read back from its .onnx, starts a new style and learns it."""
    shipped = REPO / "exports" / "starry_night.onnx"
    config = tiny_config(
        tmp_path,
        style_image=str(REPO / "data" / "styles" / "the_scream.jpg"),
        model={"width": 32, "res_blocks": 5},
        train={"init": str(shipped), "steps": 6, "lr": 0.002},
    )
    trainer = Trainer(config, progress=False)
    photos = torch.stack([PhotoDataset(trainer.paths, 32)[(i, i)][0] for i in range(2)])
    from fst.stylize import Stylizer

    onnx_output = Stylizer(shipped, "cpu").backend(photos)
    with torch.no_grad():
        torch.testing.assert_close(trainer.model.eval()(photos), onnx_output, rtol=0, atol=1e-4)
        before = trainer.loss_fn(trainer.model(photos), photos)["total"].item()
    trainer.model.train()
    for _ in range(6):
        trainer.train_step(photos)
        trainer.step += 1
    with torch.no_grad():
        after = trainer.loss_fn(trainer.model.eval()(photos), photos)["total"].item()
    assert after < 0.8 * before, (before, after)


def test_a_folder_of_only_unreadable_files_is_one_line(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_text("a text file")
    (folder / "b.png").write_bytes(b"")
    (folder / "c.jpg").write_bytes((DEMO_PHOTOS / "chelsea.jpg").read_bytes()[:200])  # truncated
    with pytest.raises(ConfigError, match=f"data.root: none of the 3 image files under {folder} can be read "
                                          r"\(for example a.jpg: "):  # fmt: skip
        Trainer(tiny_config(tmp_path, data={"root": str(folder)}), progress=False)


def test_an_unwritable_runs_dir_is_refused_before_work_and_keeps_the_run(tmp_path):
    plain = tmp_path / "runs"
    plain.write_text("")
    with pytest.raises(ConfigError, match=f"output.runs_dir: cannot write in {plain}/tiny: {plain} is a file"):
        Trainer(tiny_config(tmp_path, output={"runs_dir": str(plain)}), progress=False)
