"""fst-optimize: Gatys et al.'s optimization from the command line, and infer.py --optimize handing over to it."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import DEMO_PHOTOS, REPO, STARRY_NIGHT, tiny_config
from PIL import Image
from test_cli_infer import make_video

from fst.cli.optimize import main
from fst.errors import FstError


def test_optimize_command_line(tmp_path, capsys):
    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((36, 24)).save(tmp_path / "in.png")
    args = ["--style", str(STARRY_NIGHT), "--input", str(tmp_path / "in.png"), "--iters", "3"]
    assert main([*args, "--output", str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.png").size == (36, 24)
    assert main([*args, "--output", str(tmp_path / "kept.png"), "--preserve-colors"]) == 0
    kept, photo = Image.open(tmp_path / "kept.png").convert("YCbCr"), Image.open(tmp_path / "in.png").convert("YCbCr")
    chroma = np.abs(np.asarray(kept, dtype=int)[..., 1:] - np.asarray(photo, dtype=int)[..., 1:])
    assert chroma.mean() < 1.5
    with pytest.raises(SystemExit):  # argparse: --style is required
        main(["--input", str(tmp_path / "in.png"), "--output", str(tmp_path / "x.png")])
    with pytest.raises(FstError, match="--device cuda:x: expected auto, cpu, cuda, cuda:N or mps"):
        main([*args, "--output", str(tmp_path / "x.png"), "--device", "cuda:x"])
    with pytest.raises(FstError, match="^--iters 0: expected a whole number of iterations, 1 or more$"):
        main([*args[:-1], "0", "--output", str(tmp_path / "x.png")])
    painting = tmp_path / "painting.png"  # the painting is read like an input: never written over
    Image.open(STARRY_NIGHT).resize((40, 30)).save(painting)
    before = painting.read_bytes()
    with pytest.raises(FstError, match="refusing to write over the input .*painting.png"):
        main(["--style", str(painting), "--input", str(tmp_path / "in.png"), "--output", str(painting), "--overwrite"])
    assert painting.read_bytes() == before


def test_optimize_takes_size_and_the_loss_of_a_config_and_refuses_videos(tmp_path):
    import yaml

    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((60, 40)).save(tmp_path / "in.png")
    content_only = tiny_config(tmp_path, loss={"style_weight": 1e-6, "tv_weight": 0.0}).to_dict()
    (tmp_path / "content.yaml").write_text(yaml.safe_dump(content_only))
    args = ["--style", str(STARRY_NIGHT), "--input", str(tmp_path / "in.png"), "--iters", "3", "--size", "30"]
    assert main([*args, "--output", str(tmp_path / "styled.png")]) == 0
    assert main([*args, "--output", str(tmp_path / "same.png"), "--config", str(tmp_path / "content.yaml")]) == 0
    photo = np.asarray(Image.open(tmp_path / "in.png").resize((30, 20), Image.Resampling.LANCZOS), dtype=int)
    same, styled = (np.asarray(Image.open(tmp_path / name), dtype=int) for name in ("same.png", "styled.png"))
    assert same.shape == styled.shape == (20, 30, 3)  # --size 30
    assert np.abs(same - photo).max() <= 1  # a loss of content alone is at its minimum already: the photo stays
    assert np.abs(styled - photo).mean() > 5  # the default loss paints it
    make_video(tmp_path / "clip.mp4", 32, 24, 2, audio=False)
    with pytest.raises(FstError, match="optimization works on images only"):
        main([*args, "--input", str(tmp_path / "clip.mp4"), "--output", str(tmp_path / "out")])


def test_infer_optimize_hands_over_to_the_optimization_command(tmp_path):
    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((36, 24)).save(tmp_path / "in.png")
    done = subprocess.run(
        [sys.executable, str(REPO / "infer.py"), "--optimize", "--style", str(STARRY_NIGHT), "--input",
         str(tmp_path / "in.png"), "--output", str(tmp_path / "out.png"), "--iters", "2"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("note: optimization is its own command, fst-optimize (python optimize.py)")
    assert Image.open(tmp_path / "out.png").size == (36, 24)
