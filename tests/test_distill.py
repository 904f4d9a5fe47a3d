"""Distillation: the student learns the teacher's output, the data order is exact, a resumed run is bit-identical."""

from __future__ import annotations

import pytest
import torch
from conftest import DEMO_PHOTOS, REPO

from fst.checkpoint import load_model
from fst.config import DistillConfig
from fst.distill import Distiller, teacher_config
from fst.errors import FstError
from fst.export import export_onnx
from fst.metadata import metadata_for
from fst.transformer import TransformerNet


def config(teacher, run_dir, **changes) -> DistillConfig:
    settings = dict(width=4, res_blocks=1, steps=4, batch_size=2, image_size=32, lr=1e-2, warmup_steps=0,
                    holdout=2, save_every=2)  # fmt: skip
    return DistillConfig(str(teacher), str(DEMO_PHOTOS), str(run_dir), **{**settings, **changes})


def test_every_photo_once_per_epoch_in_a_seeded_order(models, tmp_path):
    checkpoint, _ = models
    distiller = Distiller(config(checkpoint, tmp_path / "run", batch_size=4))
    distiller.prepare()
    assert len(distiller.photos) == 5  # the 7 demo photos, the last 2 held out
    positions = torch.cat([distiller.batch(step)[0] for step in range(3)])  # 12 positions: epochs 0, 1 and 2
    assert sorted(positions[:5].tolist()) == sorted(positions[5:10].tolist()) == [0, 1, 2, 3, 4]
    assert not torch.equal(positions[:5], positions[5:10])  # each epoch its own shuffle
    assert torch.equal(positions, torch.cat([distiller.batch(step)[0] for step in range(3)]))
    assert distiller.batch(1)[1].tolist() == [0, 0, 0, 0]  # one teacher: every photo for its one style


def test_targets_are_the_teachers_output_on_each_crop(models, tmp_path):
    checkpoint, _ = models
    distiller = Distiller(config(checkpoint, tmp_path / "run"))
    distiller.prepare()
    photo = distiller.photos[3][None].float() / 255
    with torch.no_grad():
        expected = distiller.teacher(photo)[0]
    assert distiller.photos.shape == (5, 3, 32, 32) and distiller.photos.dtype == torch.uint8
    assert (distiller.targets[0, 3].float() - expected).abs().max() < 1e-3  # fp16 storage: 3 decimal digits


def test_the_student_comes_close_to_the_teacher(models, tmp_path):
    checkpoint, _ = models
    settings = dict(width=8, steps=150, lr=3e-3, save_every=1000, seed=1)  # seed 0 would copy the teacher's init
    distiller = Distiller(config(checkpoint, tmp_path / "run", **settings))
    distiller.prepare()
    before, losses = distiller.evaluate(long_side=48), []
    distiller.run(lambda progress: losses.append(progress.loss))
    after = distiller.evaluate(long_side=48)
    # measured: 18 dB to 28 dB on the 5 training crops; 17.7 dB to 19.8 dB on the 2 held-out photos, which
    # 5 crops of 32 px cannot teach much about
    assert losses[-1] < losses[0] / 6, (losses[0], losses[-1])
    assert after > before + 1, (before, after)


def test_a_resumed_run_ends_bit_identical(models, tmp_path):
    checkpoint, _ = models
    straight = Distiller(config(checkpoint, tmp_path / "straight"))
    straight.run()
    first = Distiller(config(checkpoint, tmp_path / "stopped"))  # the same schedule, stopped after 2 steps
    first.prepare()
    first.train_step(), first.train_step(), first.save()
    resumed = Distiller(config(checkpoint, tmp_path / "stopped"))
    assert resumed.resumed and resumed.step == 2
    resumed.run()
    for name, value in straight.student.state_dict().items():
        assert torch.equal(value, resumed.student.state_dict()[name]), name


def test_resuming_with_another_width_is_refused(models, tmp_path):
    checkpoint, _ = models
    Distiller(config(checkpoint, tmp_path / "run", steps=2)).run()
    with pytest.raises(FstError, match="distilled with width = 4, not 6"):
        Distiller(config(checkpoint, tmp_path / "run", width=6))
    assert Distiller(config(checkpoint, tmp_path / "run", width=6), restart=True).step == 0


def test_a_training_run_folder_is_not_taken_for_a_distillation(models, tmp_path):
    checkpoint, _ = models
    with pytest.raises(FstError, match="is a training checkpoint, not a distillation"):
        Distiller(config(checkpoint, checkpoint.parent.parent))  # run/checkpoints/step_N.pt


def test_the_students_checkpoint_carries_the_teachers_config_with_its_own_width(models, tmp_path):
    checkpoint, _ = models
    saved = Distiller(config(checkpoint, tmp_path / "run", steps=2)).run()
    state = torch.load(saved, weights_only=False)
    assert state["config"]["name"] == "tiny" and state["config"]["data"]["image_size"] == 32
    assert state["config"]["model"] == {"width": 4, "res_blocks": 1, "architecture": "johnson"}
    assert state["config"]["distilled_from"] == str(checkpoint)


def test_a_realtime_student_is_saved_exported_and_read_back_as_one(models, tmp_path):
    checkpoint, _ = models
    distiller = Distiller(config(checkpoint, tmp_path / "run", steps=2, width=8, architecture="realtime"))
    saved = distiller.run()
    student, _ = load_model(saved)
    assert (student.architecture, student.width, student.res_blocks) == ("realtime", 8, 1)
    assert metadata_for(distiller.student_config, 2)["architecture"] == "realtime"
    with pytest.raises(FstError, match="was distilled with architecture = realtime, not johnson"):
        Distiller(config(checkpoint, tmp_path / "run", steps=2, width=8))


def test_an_exported_teacher_gives_its_config_from_metadata(models, tmp_path):
    checkpoint, onnx_path = models
    teacher = Distiller(config(checkpoint, tmp_path / "run")).teacher
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
        Distiller(config(checkpoint, training_run), restart=True)
    assert checkpoint.is_file()
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    with pytest.raises(FstError, match=f"--restart: {home} holds notes, which no fst run writes"):
        Distiller(config(checkpoint, home), restart=True)
    real = tmp_path / "real"
    Distiller(config(checkpoint, real, steps=2)).run()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(FstError, match=f"--restart: {tmp_path / 'link'} is a symbolic link"):
        Distiller(config(checkpoint, tmp_path / "link"), restart=True)
    assert (real / "last.pt").is_file()
    fresh = Distiller(config(checkpoint, real), restart=True)
    assert fresh.step == 0 and not real.exists()


def test_ctrl_c_saves_the_steps_since_the_last_checkpoint(models, tmp_path):
    checkpoint, _ = models
    distiller = Distiller(config(checkpoint, tmp_path / "run", steps=8))  # saves every 2 steps

    def interrupt_at_step_3(progress):
        if progress.step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        distiller.run(interrupt_at_step_3)
    resumed = Distiller(config(checkpoint, tmp_path / "run", steps=8))
    assert resumed.resumed and resumed.step == 3


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
    distiller = Distiller(DistillConfig(
        three_teachers, str(DEMO_PHOTOS), str(tmp_path / "run"), width=4, res_blocks=1, steps=40, batch_size=3,
        image_size=32, lr=1e-2, warmup_steps=0, holdout=2, save_every=20))  # fmt: skip
    assert distiller.student.styles == 3 and distiller.student_config["styles"] == ["a", "b", "c"]
    assert distiller.student_config["name"] == "a-b-c" and "made_from" not in distiller.student_config
    distiller.prepare()
    assert distiller.batch(1)[1].tolist() == [0, 1, 2]  # each photo of a step for the next style in turn
    assert distiller.targets.shape == (3, 5, 3, 32, 32)
    photo = distiller.photos[:1].float() / 255
    with torch.no_grad():  # it starts as the first teacher, for every style
        for style in torch.eye(3):
            assert torch.allclose(distiller.student(photo, style), distiller.teachers[0](photo), atol=1e-5)
    before = distiller.evaluate(long_side=48)
    distiller.run()
    after = distiller.evaluate(long_side=48)
    assert after > before + 1, (before, after)  # each style moved towards its own teacher
    settings = DistillConfig(
        three_teachers, str(DEMO_PHOTOS), str(tmp_path / "stopped"), width=4, res_blocks=1, steps=40, batch_size=3,
        image_size=32, lr=1e-2, warmup_steps=0, holdout=2, save_every=20)  # fmt: skip
    stopped = Distiller(settings)  # the same run, stopped after 20 steps
    stopped.prepare()
    for _ in range(20):
        stopped.train_step()
    stopped.save()
    resumed = Distiller(settings)
    assert resumed.step == 20
    resumed.run()
    for name, value in distiller.student.state_dict().items():  # 20 + 20 steps: bit-identical to 40
        assert torch.equal(value, resumed.student.state_dict()[name]), name
    with pytest.raises(FstError, match="distilled from 3 teacher\\(s\\), not 2"):
        Distiller(DistillConfig(three_teachers[:2], str(DEMO_PHOTOS), str(tmp_path / "run"), width=4, res_blocks=1,
                                steps=40, batch_size=3, image_size=32, holdout=2))  # fmt: skip


def test_a_teacher_of_several_styles_is_refused(tmp_path):
    """Run without a style it teaches its first style alone, and the student would pass for its fast copy."""
    path = tmp_path / "two.onnx"
    meta = {"name": "two", "styles": ["a", "b"], "style_images": ["a.jpg", "b.jpg"], "data": {"image_size": 32}}
    export_onnx(TransformerNet(4, 1, styles=2).eval(), path, metadata_for(meta, 1))
    with pytest.raises(FstError, match=rf"^--teacher {path} holds 2 styles: give each style's own network as a "
                                       r"--teacher of its own"):  # fmt: skip
        Distiller(config(path, tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_a_paintings_model_teaches_a_realtime_network(arbitrary_model, tmp_path):
    """The bridge from any painting to the realtime path: the painting's model (fst.arbitrary) as the teacher,
    its output the target, the student an ordinary realtime network whose config names the painting."""
    from fst.arbitrary import painting_model
    from fst.backends import onnx_session, run_onnx
    from fst.distill import OnnxTeacher

    teacher = painting_model(arbitrary_model, REPO / "data" / "styles" / "wave.jpg")
    distiller = Distiller(config(teacher, tmp_path / "run", architecture="realtime", width=8))
    assert isinstance(distiller.teacher, OnnxTeacher)
    distiller.prepare()
    photo = distiller.photos[2][None].float() / 255
    expected = run_onnx(onnx_session(teacher), photo.numpy())[0][0]
    assert (distiller.targets[0, 2].float() - torch.from_numpy(expected)).abs().max() < 1e-3
    distiller.run()
    state = load_model(tmp_path / "run" / "last.pt")[1]
    assert (state["config"]["name"], state["config"]["style_image"]) == ("wave", "wave.jpg")
    assert state["config"]["model"]["architecture"] == "realtime" and len(state["config"]["made_from"]) == 64
