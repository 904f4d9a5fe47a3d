"""A run's state: which checkpoints a config may continue (one line for each refusal), the error of a non-finite
loss, and the sample grid a run keeps."""

from pathlib import Path

import pytest
import torch
from conftest import tiny_config
from PIL import Image

from fst.errors import ConfigError, FstError
from fst.runstate import check_resumable, not_finite, run_kind, save_samples

TRAINING_STATE = {"optimizer": {}, "samples_seen": 8, "rng": {}}


def saved(config, **extra) -> dict:
    return {"config": config.to_dict(), "model": {}, **TRAINING_STATE, **extra}


def test_a_checkpoint_is_continued_only_by_the_same_kind_of_run_and_network(tmp_path):
    config = tiny_config(tmp_path)
    path = Path("run/last.pt")
    check_resumable(saved(config), path, config)  # the same run: no error
    distillation = tiny_config(tmp_path, distill={"teachers": ["a.onnx", "b.onnx"]})
    assert (run_kind(config), run_kind(distillation)) == ("training", "distillation")
    with pytest.raises(FstError, match="^cannot resume from run/last.pt: it is a training checkpoint, not a distil"):
        check_resumable(saved(config), path, distillation)
    with pytest.raises(FstError, match=r"it was distilled from 1 teacher\(s\), not 2: give the same teachers"):
        check_resumable(saved(distillation, distill={"teachers": ["a.onnx"]}), path, distillation)
    with pytest.raises(FstError, match="it holds a network but no training state"):
        check_resumable({"config": config.to_dict(), "model": {}}, path, config)
    wider = tiny_config(tmp_path, model={"width": 16, "architecture": "realtime"})
    with pytest.raises(ConfigError) as info:
        check_resumable(saved(config), path, wider)
    assert str(info.value) == ("cannot resume from run/last.pt: the config changes the network (model.width: 8 -> 16, "
                               "model.architecture: johnson -> realtime)")  # fmt: skip
    old = saved(config)
    del old["config"]["model"]["encoder_layer"]  # a key added since: its default stands in
    check_resumable(old, path, config)


def test_a_non_finite_loss_names_its_step_terms_and_the_last_good_checkpoint(tmp_path):
    config = tiny_config(tmp_path)
    error = not_finite(tmp_path, config, 7, {"total": float("nan"), "style": float("inf")})
    assert str(error) == ("the loss is not finite at step 7 (total nan, style inf); no checkpoint had been written "
                          "yet; try a lower train.lr (now 0.001) or smaller loss weights")  # fmt: skip
    (tmp_path / "checkpoints").mkdir()
    torch.save({"step": 4}, tmp_path / "checkpoints" / "step_0000004.pt")
    assert f"the last good checkpoint is {tmp_path / 'checkpoints' / 'step_0000004.pt'};" in str(
        not_finite(tmp_path, config, 7, {"total": float("nan")}))  # fmt: skip


def test_samples_are_one_grid_in_tensorboard_and_the_run_folder(tmp_path):
    class Writer:
        def add_image(self, tag, image, step, dataformats):
            self.added = (tag, image.shape, step, dataformats)

    writer = Writer()
    rows = [torch.zeros(2, 3, 8, 12), torch.ones(2, 3, 8, 12)]
    save_samples(writer, tmp_path, 5, rows)
    grid = Image.open(tmp_path / "samples" / "step_0000005.png")
    assert writer.added[0] == "samples" and writer.added[2:] == (5, "HWC") and writer.added[1][:2] == grid.size[::-1]
    assert grid.size == (4 + 2 * (12 + 4), 4 + 2 * (8 + 4))  # 4 white pixels around each image
    assert grid.getpixel((4, 4)) == (0, 0, 0) and grid.getpixel((4, 16)) == (255, 255, 255)  # the rows in order
