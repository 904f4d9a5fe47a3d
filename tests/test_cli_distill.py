import subprocess
import sys

import onnx
import pytest
import torch
from conftest import DEMO_PHOTOS, REPO

from fst.cli.distill import main
from fst.errors import FstError

TINY = ["--width", "4", "--res-blocks", "1", "--image-size", "32", "--batch-size", "2", "--holdout", "2"]


def test_distill_command_line_trains_resumes_and_exports(models, tmp_path, capsys):
    checkpoint, _ = models
    out, run = tmp_path / "fast.onnx", tmp_path / "run"
    common = ["--teacher", str(checkpoint), "--photos", str(DEMO_PHOTOS), "--run-dir", str(run), *TINY]
    assert main([*common, "--steps", "2", "--export", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    device = "cuda:0" if torch.cuda.is_available() else "cpu"  # --device auto
    assert f"into a realtime network of width 4 on 5 photos, {device}, from scratch" in printed  # the default
    assert "done: step 2; " in printed and f"dB PSNR against the teacher on 2 held-out photos; ONNX {out}" in printed
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta["style"] == "tiny" and meta["steps"] == "2" and meta["teacher"] == checkpoint.name
    assert float(meta["teacher_psnr_db"]) > 10
    assert main([*common, "--steps", "3", "--export", str(out), "--no-progress"]) == 0
    assert "resuming at step 2" in capsys.readouterr().out
    assert {p.key: p.value for p in onnx.load(out).metadata_props}["steps"] == "3"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--steps", "0"], "--steps 0: expected a positive number"),
        (["--width", "-1"], "--width -1: expected a positive number"),
        (["--holdout", "0"], "--holdout 0: expected a positive number"),
        (["--res-blocks", "-2"], "--res-blocks -2: expected 0 or more"),
        (["--export", "fast.pt"], "--export fast.pt: expected a file name ending in .onnx"),
        (["--image-size", "1"], "--image-size 1: expected 16 to 4096 pixels"),
        (["--lr", "nan"], "--lr nan: expected a number > 0"),
        (["--lr", "inf"], "--lr inf: expected a number > 0"),
        (["--lr", "-0.1"], "--lr -0.1: expected a number > 0"),
        (["--device", "gpu"], "--device gpu: expected auto, cpu, cuda, cuda:N or mps"),
        (["--painting", "p.jpg"], "give --teacher \\(a trained network, once per style\\) or --painting IMAGE, one of"),
        *[(["--device", "cuda"], "--device cuda, but PyTorch sees no CUDA device here; use auto or cpu")]
        * (not torch.cuda.is_available()),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(models, tmp_path, flags, message):
    checkpoint, _ = models
    with pytest.raises(FstError, match=message):
        main(["--teacher", str(checkpoint), "--photos", str(DEMO_PHOTOS), "--run-dir", str(tmp_path / "r"), *flags])
    assert not (tmp_path / "r").exists()


def test_a_missing_teacher_is_one_line_and_exit_code_1(tmp_path):
    args = ["--teacher", str(tmp_path / "gone.pt"), "--photos", str(DEMO_PHOTOS), "--run-dir", str(tmp_path / "r")]
    done = subprocess.run([sys.executable, "distill.py", *args], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: model not found: {tmp_path / 'gone.pt'} (expected an .onnx file, a ")
    assert done.stderr.count("\n") == 1


def test_run_and_export_places_that_cannot_be_written_are_refused_before_the_run(models, tmp_path):
    checkpoint, _ = models
    (tmp_path / "file").write_text("not a folder")
    args = ["--teacher", str(checkpoint), "--photos", str(DEMO_PHOTOS)]
    with pytest.raises(FstError, match=f"--run-dir {tmp_path / 'file'}: a file, not a folder"):
        main([*args, "--run-dir", str(tmp_path / "file")])
    export = tmp_path / "file" / "fast.onnx"
    with pytest.raises(FstError, match=f"--export {export}: cannot write in .*file is a file, not a folder"):
        main([*args, "--run-dir", str(tmp_path / "r"), "--export", str(export)])
    assert not (tmp_path / "r").exists()


def test_a_teacher_by_a_shipped_styles_name(tmp_path, capsys):
    out = tmp_path / "wave-rt.onnx"
    args = ["--photos", str(DEMO_PHOTOS), "--run-dir", str(tmp_path / "run"), *TINY, "--steps", "1", "--no-progress"]
    assert main(["--teacher", "wave", *args, "--architecture", "realtime", "--export", str(out)]) == 0
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert (meta["style"], meta["teacher"], meta["architecture"]) == ("wave", "wave.onnx", "realtime")
    with pytest.raises(FstError, match="model not found: nosuchstyle"):
        main(["--teacher", "nosuchstyle", *args])


def test_several_teachers_export_one_network_of_their_styles(models, tmp_path, capsys):
    import torch

    from fst.export import export_onnx
    from fst.metadata import metadata_for
    from fst.transformer import TransformerNet

    teachers = []
    for seed, name in enumerate(["dots", "lines"]):
        torch.manual_seed(seed)
        teachers += ["--teacher", str(tmp_path / f"{name}.onnx")]
        meta = metadata_for({"name": name, "style_image": f"{name}.png", "data": {"image_size": 32}}, 1)
        export_onnx(TransformerNet(4, 1).eval(), tmp_path / f"{name}.onnx", meta)
    common = ["--photos", str(DEMO_PHOTOS), "--run-dir", str(tmp_path / "run"), *TINY, "--steps", "2", "--no-progress"]
    out = tmp_path / "both.onnx"
    assert main([*teachers, *common, "--export", str(out)]) == 0
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta["styles"] == '["dots", "lines"]' and meta["style_images"] == '["dots.png", "lines.png"]'
    assert meta["style"] == "both" and meta["teacher"] == "dots.onnx, lines.onnx" and "made_from" not in meta
    checkpoint, _ = models
    with pytest.raises(FstError, match="two teachers have the same style name \\(tiny, tiny\\)"):
        main(["--teacher", str(checkpoint), "--teacher", str(checkpoint), *common[:4], *TINY, "--steps", "2"])


def test_a_paintings_network_is_never_written_as_a_styles_fast_variant(tmp_path, monkeypatch):
    """fst-distill --painting wave.jpg without --export wrote exports/wave-fast.onnx, over the shipped wave network's
    realtime variant in a checkout: a painting's network is PAINTING-painting.onnx."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "exports").mkdir()
    shipped = tmp_path / "exports" / "wave-fast.onnx"
    shipped.write_bytes(b"the shipped realtime network")
    args = ["--photos", str(DEMO_PHOTOS), "--run-dir", str(tmp_path / "run"), *TINY, "--steps", "1", "--no-progress"]
    assert main(["--painting", str(REPO / "data" / "styles" / "wave.jpg"), *args]) == 0
    assert shipped.read_bytes() == b"the shipped realtime network"
    meta = {p.key: p.value for p in onnx.load(tmp_path / "exports" / "wave-painting.onnx").metadata_props}
    assert meta["style"] == "wave"
