"""Distillation under the one Trainer: the student learns the teacher's output, the data order is exact and
resumable, a resumed run is bit-identical, and the run folder is guarded as a training run's is."""

from __future__ import annotations

import signal

import pytest
import torch
from conftest import DEMO_PHOTOS, REPO

from fst.checkpoint import load_model
from fst.distill import distill_config, teacher_config
from fst.errors import ConfigError, FstError
from fst.export import export_onnx
from fst.metadata import metadata_for
from fst.onnxrun import run_onnx
from fst.trainer import Trainer, TrainingInterrupted
from fst.transformer import TransformerNet

SETTINGS = dict(width=4, res_blocks=1, architecture="johnson", steps=4, batch_size=2, image_size=32, lr=1e-2,
                warmup_steps=0, holdout=2, save_every=2, log_every=1)  # fmt: skip


def distillation(teachers, run_dir, restart: bool = False, **changes) -> Trainer:
    teachers = [str(t) for t in teachers] if isinstance(teachers, list) else [str(teachers)]
    config = distill_config(teachers, DEMO_PHOTOS, run_dir, exports_dir=run_dir.parent, **{**SETTINGS, **changes})
    return Trainer(config, resume=None if restart else "auto", restart=restart)


def crop_indices(objective, photos: torch.Tensor) -> list[int]:
    """Which of the objective's crops each photo of a batch is."""
    crops = objective.photos.float() / 255
    return [next(i for i, crop in enumerate(crops) if torch.equal(crop, photo)) for photo in photos]


def stop_at_step(trainer: Trainer, step: int):
    """An on_progress that asks the run to stop at `step`, as SIGINT does (it stops once every rank knows)."""
    return lambda progress: progress.step == step and trainer._on_signal(signal.SIGINT, None)


def test_every_photo_once_per_epoch_in_a_seeded_order_resumable_and_shared_by_processes(models, tmp_path):
    checkpoint, _ = models
    objective = distillation(checkpoint, tmp_path / "run", batch_size=4).objective
    objective.prepare()
    assert len(objective.photos) == 5  # the 7 demo photos, the last 2 held out
    batches = objective.loader(0, 0, 1)
    steps = [next(batches)[0] for _ in range(3)]  # 12 positions: epochs 0, 1 and 2
    positions = sum((crop_indices(objective, photos) for photos, _ in steps), [])
    assert sorted(positions[:5]) == sorted(positions[5:10]) == [0, 1, 2, 3, 4]
    assert positions[:5] != positions[5:10]  # each epoch its own shuffle
    for (photos, targets), index in zip(steps[0:1] * 4, positions[:4]):  # each crop with its teacher's output
        assert torch.equal(targets[positions[:4].index(index)], objective.targets[0, index].float())
    assert crop_indices(objective, next(objective.loader(8, 0, 1))[0][0]) == positions[8:12]  # from a position on
    two = [crop_indices(objective, next(objective.loader(0, rank, 2))[0][0]) for rank in (0, 1)]
    assert sorted(two[0] + two[1]) == sorted(positions[:8])  # two processes see what one does
    assert two[0] == positions[0:8:2] and two[1] == positions[1:8:2]


def test_targets_are_the_teachers_output_on_each_crop(models, tmp_path):
    checkpoint, _ = models
    objective = distillation(checkpoint, tmp_path / "run").objective
    objective.prepare()
    photo = objective.photos[3][None].float() / 255
    with torch.no_grad():
        expected = objective.teacher(photo)[0]
    assert objective.photos.shape == (5, 3, 32, 32) and objective.photos.dtype == torch.uint8
    assert (objective.targets[0, 3].float() - expected).abs().max() < 1e-3  # fp16 storage: 3 decimal digits


def test_the_student_comes_close_to_the_teacher(models, tmp_path):
    checkpoint, _ = models
    trainer = distillation(checkpoint, tmp_path / "run", width=8, steps=150, lr=3e-3, save_every=1000, seed=1)
    objective, losses = trainer.objective, []  # seed 0 would copy the teacher's init
    objective.prepare()
    before = objective.evaluate(trainer.holdout_paths, long_side=48)
    trainer.run(lambda progress: losses.append(progress.losses["total"]))
    after = objective.evaluate(trainer.holdout_paths, long_side=48)
    # measured: 18 dB to 28 dB on the 5 training crops; 17.7 dB to 19.8 dB on the 2 held-out photos, which
    # 5 crops of 32 px cannot teach much about
    assert len(losses) == 150 and losses[-1] < losses[0] / 6, (losses[0], losses[-1])
    assert after > before + 1, (before, after)


def test_a_stopped_run_saves_its_steps_and_resumed_ends_bit_identical(models, tmp_path):
    checkpoint, _ = models
    straight = distillation(checkpoint, tmp_path / "straight", steps=6)
    straight.run()
    stopped = distillation(checkpoint, tmp_path / "stopped", steps=6)  # checkpoints every 2 steps
    with pytest.raises(TrainingInterrupted, match=r"at step 3; .* continue with the same command"):
        stopped.run(stop_at_step(stopped, 2))
    resumed = distillation(checkpoint, tmp_path / "stopped", steps=6)
    assert resumed.resumed_from is not None and resumed.step == 3  # the step since the last checkpoint kept
    resumed.run()
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_resuming_with_another_network_is_refused_and_restart_starts_over(models, tmp_path):
    checkpoint, _ = models
    distillation(checkpoint, tmp_path / "run", steps=2).run()
    with pytest.raises(ConfigError, match=r"the config changes the network \(model.width: 4 -> 6\)"):
        distillation(checkpoint, tmp_path / "run", width=6)
    assert distillation(checkpoint, tmp_path / "run", restart=True, width=6).step == 0


def test_a_training_run_folder_is_not_taken_for_a_distillation(models, tmp_path):
    checkpoint, _ = models
    with pytest.raises(FstError, match="it is a training checkpoint, not a distillation"):
        distillation(checkpoint, checkpoint.parent.parent)  # run/checkpoints/step_N.pt


def test_the_students_checkpoint_carries_the_teachers_style_with_its_own_network(models, tmp_path):
    checkpoint, _ = models
    saved = distillation(checkpoint, tmp_path / "run", steps=2).run().checkpoint
    state = torch.load(saved, weights_only=False)
    assert state["config"]["name"] == "tiny" and state["config"]["data"]["image_size"] == 32
    assert state["config"]["model"] == {"width": 4, "res_blocks": 1, "architecture": "johnson",
                                        "encoder_layer": "relu4_1"}  # fmt: skip
    assert state["distill"] == {"teachers": [str(checkpoint)]} and len(state["made_from"]) == 64
    assert state["config"]["style_image"].endswith("starry_night.jpg")


def test_a_realtime_student_is_saved_exported_and_read_back_as_one(models, tmp_path):
    checkpoint, _ = models
    trainer = distillation(checkpoint, tmp_path / "run", steps=2, width=8, architecture="realtime")
    student, _ = load_model(trainer.run().checkpoint)
    assert (student.architecture, student.width, student.res_blocks) == ("realtime", 8, 1)
    metadata = metadata_for(trainer.config.to_dict() | trainer.objective.checkpoint_fields(), 2)
    assert metadata["architecture"] == "realtime" and metadata["made_from"] == trainer.objective.fields["made_from"]
    with pytest.raises(ConfigError, match="model.architecture: realtime -> johnson"):
        distillation(checkpoint, tmp_path / "run", steps=2, width=8)


def test_an_exported_teacher_gives_its_config_from_metadata(models, tmp_path):
    checkpoint, onnx_path = models
    teacher = distillation(checkpoint, tmp_path / "run").objective.teacher
    path = tmp_path / "t.onnx"
    export_onnx(teacher, path, {"style": "wave", "style_image": "wave.jpg", "image_size": "256"})
    assert teacher_config(path) == {"name": "wave", "style_image": "wave.jpg", "data": {"image_size": 256}}
    with pytest.raises(FstError, match="has no fst metadata"):
        teacher_config(onnx_path)


def test_restart_deletes_only_a_distillation_it_made(models, tmp_path):
    """--restart never deletes a training run, a folder holding other files, or what a symbolic link points to."""
    checkpoint, _ = models
    training_run = checkpoint.parent.parent
    with pytest.raises(FstError, match=f"--restart: {training_run} holds a training run, not a distillation"):
        distillation(checkpoint, training_run, restart=True)
    assert checkpoint.is_file()
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    with pytest.raises(FstError, match=f"--restart: {home} holds notes, which no fst run writes"):
        distillation(checkpoint, home, restart=True)
    real = tmp_path / "real"
    distillation(checkpoint, real, steps=2).run()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(FstError, match=f"--restart: {tmp_path / 'link'} is a symbolic link"):
        distillation(checkpoint, tmp_path / "link", restart=True)
    assert (real / "last.pt").is_file()
    fresh = distillation(checkpoint, real, restart=True)
    assert fresh.step == 0 and not real.exists()


@pytest.fixture(scope="module")
def three_teachers(tmp_path_factory):
    """Three networks of one style (width 4, one block), exported with their style names."""
    folder = tmp_path_factory.mktemp("teachers")
    paths = []
    for seed, name in enumerate(["a", "b", "c"]):
        torch.manual_seed(seed + 10)
        path = folder / f"{name}.onnx"
        meta = {"name": name, "style_image": f"{name}.jpg", "data": {"image_size": 32}}
        export_onnx(TransformerNet(4, 1).eval(), path, metadata_for(meta, 1))
        paths.append(str(path))
    return paths


def test_several_teachers_make_one_network_of_their_styles(three_teachers, tmp_path):
    several = dict(steps=40, batch_size=3, save_every=20)
    trainer = distillation(three_teachers, tmp_path / "run", **several)
    objective = trainer.objective
    assert objective.model.styles == 3
    assert objective.fields == {"styles": ["a", "b", "c"], "style_images": ["a.jpg", "b.jpg", "c.jpg"]}
    assert trainer.config.name == "a-b-c"
    objective.prepare()
    batches = objective.loader(0, 0, 1)
    for _ in range(2):  # each photo of a step for the next style in turn
        photos, targets, weights = next(batches)[0]
        assert torch.equal(weights, torch.eye(3))
        indices = crop_indices(objective, photos)
        assert all(torch.equal(targets[i], objective.targets[i, index].float()) for i, index in enumerate(indices))
    assert objective.targets.shape == (3, 5, 3, 32, 32)
    photo = objective.photos[:1].float() / 255
    with torch.no_grad():  # it starts as the first teacher, for every style
        for style in torch.eye(3):
            assert torch.allclose(objective.model(photo, style), objective.teachers[0](photo), atol=1e-5)
    before = objective.evaluate(trainer.holdout_paths, long_side=48)
    trainer.run()
    after = objective.evaluate(trainer.holdout_paths, long_side=48)
    assert after > before + 1, (before, after)  # each style moved towards its own teacher
    stopped = distillation(three_teachers, tmp_path / "stopped", **several)  # the same run, stopped at step 21
    with pytest.raises(TrainingInterrupted):
        stopped.run(stop_at_step(stopped, 20))
    resumed = distillation(three_teachers, tmp_path / "stopped", **several)
    assert resumed.step == 21
    resumed.run()
    for name, value in objective.model.state_dict().items():  # 21 + 19 steps: bit-identical to 40
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    with pytest.raises(FstError, match=r"distilled from 3 teacher\(s\), not 2"):
        distillation(three_teachers[:2], tmp_path / "run", **several)


def test_a_teacher_of_several_styles_is_refused(tmp_path):
    """Run without a style it teaches its first style alone, and the student would pass for its fast copy."""
    path = tmp_path / "two.onnx"
    meta = {"name": "two", "styles": ["a", "b"], "style_images": ["a.jpg", "b.jpg"], "data": {"image_size": 32}}
    export_onnx(TransformerNet(4, 1, styles=2).eval(), path, metadata_for(meta, 1))
    with pytest.raises(FstError, match=rf"^--teacher {path} holds 2 styles: give each style's own network as a "
                                       r"--teacher of its own"):  # fmt: skip
        distillation(path, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_paintings_model_teaches_a_realtime_network(arbitrary_model, tmp_path):
    """The bridge from any painting to the realtime path: the painting's model (fst.arbitrary) as the teacher,
    its output the target, the student an ordinary realtime network whose config names the painting."""
    from fst.arbitrary import painting_model
    from fst.distill import OnnxTeacher
    from fst.onnxrun import onnx_session

    teacher = painting_model(arbitrary_model, REPO / "data" / "styles" / "wave.jpg")
    trainer = distillation(teacher, tmp_path / "run", architecture="realtime", width=8)
    objective = trainer.objective
    assert isinstance(objective.teacher, OnnxTeacher)
    objective.prepare()
    photo = objective.photos[2][None].float() / 255
    expected = run_onnx(onnx_session(teacher), photo.numpy())[0][0]
    assert (objective.targets[0, 2].float() - torch.from_numpy(expected)).abs().max() < 1e-3
    trainer.run()
    state = load_model(tmp_path / "run" / "last.pt")[1]
    assert (state["config"]["name"], state["config"]["style_image"]) == ("wave", "wave.jpg")
    assert state["config"]["model"]["architecture"] == "realtime" and len(state["made_from"]) == 64
