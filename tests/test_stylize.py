import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from fst.checkpoint import save_checkpoint
from fst.errors import FstError
from fst.export import export_onnx
from fst.stylize import Stylizer, main
from fst.transformer import TransformerNet

from conftest import DEMO_PHOTOS, tiny_config


@pytest.fixture(scope="module")
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


def test_onnx_and_checkpoint_give_the_same_image(models):
    checkpoint, onnx_path = models
    photo = Image.open(DEMO_PHOTOS / "chelsea.jpg").resize((61, 45))
    a = np.asarray(Stylizer(onnx_path, "cpu").stylize(photo), dtype=int)
    b = np.asarray(Stylizer(checkpoint, "cpu").stylize(photo), dtype=int)
    assert a.shape == (45, 61, 3)
    assert np.abs(a - b).max() <= 1  # 8-bit rounding of outputs within 1e-4


def test_folder_with_a_corrupt_file(models, tmp_path, capsys):
    _, onnx_path = models
    inputs = tmp_path / "in"
    (inputs / "nested").mkdir(parents=True)
    Image.open(DEMO_PHOTOS / "chelsea.jpg").resize((40, 30)).save(inputs / "cat.jpg")
    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((30, 20)).save(inputs / "nested" / "coffee.png")
    (inputs / "nested" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    assert main(["--model", str(onnx_path), "--input", str(inputs), "--output", str(tmp_path / "out")]) == 1
    out = capsys.readouterr()
    assert "error: cannot read" in out.out + out.err and "broken.jpg" in out.out + out.err
    assert Image.open(tmp_path / "out" / "cat.jpg").size == (40, 30)
    assert Image.open(tmp_path / "out" / "nested" / "coffee.png").size == (30, 20)
    assert not (tmp_path / "out" / "nested" / "broken.jpg").exists()
    assert not list((tmp_path / "out").rglob(".*tmp*"))


def test_existing_output_is_kept_without_overwrite(models, tmp_path):
    _, onnx_path = models
    source = tmp_path / "cat.jpg"
    shutil.copy(DEMO_PHOTOS / "chelsea.jpg", source)
    target = tmp_path / "styled.png"
    target.write_bytes(b"keep me")
    args = ["--model", str(onnx_path), "--input", str(source), "--output", str(target), "--size", "64"]
    assert main(args) == 0
    assert target.read_bytes() == b"keep me"
    assert main([*args, "--overwrite"]) == 0
    assert Image.open(target).size == (64, 43)


def test_never_writes_over_an_input(models, tmp_path):
    _, onnx_path = models
    source = tmp_path / "cat.jpg"
    shutil.copy(DEMO_PHOTOS / "chelsea.jpg", source)
    with pytest.raises(FstError, match="refusing to write over the input"):
        main(["--model", str(onnx_path), "--input", str(source), "--output", str(source), "--overwrite"])


def test_clear_errors(tmp_path):
    with pytest.raises(FstError, match="model not found: nope.onnx"):
        Stylizer("nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_text("junk")
    with pytest.raises(FstError, match="junk.onnx is not a loadable ONNX model"):
        Stylizer(junk)
    with pytest.raises(FstError, match="input not found: missing.jpg"):
        main(["--model", str(junk), "--input", "missing.jpg", "--output", str(tmp_path / "o.jpg")])
