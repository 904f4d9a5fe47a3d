import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from conftest import DEMO_PHOTOS, REPO, STARRY_NIGHT, copy_of, tiny_config

from fst.blend import model_styles
from fst.checkpoint import save_checkpoint
from fst.cli.export import main
from fst.errors import FstError
from fst.onnxrun import onnx_session
from fst.transformer import TransformerNet


def test_export_command_line(tmp_path):
    config = tiny_config(tmp_path)
    model = TransformerNet(config.model.width, config.model.res_blocks)
    checkpoint = save_checkpoint({"step": 7, "config": config.to_dict(), "model": model.state_dict()}, tmp_path, 1)
    assert main([str(checkpoint), "-o", str(tmp_path / "out" / "m.onnx")]) == 0
    meta = {p.key: p.value for p in onnx.load(tmp_path / "out" / "m.onnx").metadata_props}
    assert meta["style"] == "tiny" and meta["steps"] == "7" and meta["image_size"] == "32"
    assert meta["style_image"] == "starry_night.jpg" and meta["precision"] == "fp32"


def test_static_and_index_command_lines(tmp_path, capsys):
    config = tiny_config(tmp_path)
    model = TransformerNet(config.model.width, config.model.res_blocks)
    checkpoint = save_checkpoint({"step": 7, "config": config.to_dict(), "model": model.state_dict()}, tmp_path, 1)
    out = tmp_path / "out" / "m.onnx"
    assert main([str(checkpoint), "-o", str(out), "--static", "90x160"]) == 0
    dims = onnx.load(out).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 90, 160]
    padded = tmp_path / "out" / "padded.onnx"
    assert main([str(checkpoint), "-o", str(padded), "--pad-inside"]) == 0
    session = onnxruntime.InferenceSession(str(padded), providers=["CPUExecutionProvider"])
    assert session.run(None, {"image": np.zeros((1, 3, 37, 53), np.float32)})[0].shape == (1, 3, 37, 53)
    for bad in ("90", "90x", "4x160", "ninetyx160", "60000x60000"):
        with pytest.raises(FstError, match=f"--static {bad}: expected HEIGHTxWIDTH in pixels, each from 8 to 4096"):
            main([str(checkpoint), "-o", str(out), "--static", bad])
    capsys.readouterr()
    assert main(["--index", str(out.parent)]) == 0
    assert capsys.readouterr().out == f"wrote {out.parent / 'models.json'}\n"
    assert '"input_shape": [\n        1,\n        3,\n        90,' in (out.parent / "models.json").read_text()
    with pytest.raises(FstError, match=f"--index {tmp_path / 'gone'}: expected a folder of .onnx models"):
        main(["--index", str(tmp_path / "gone")])
    with pytest.raises(FstError, match=r"expected a checkpoint and -o OUT.onnx \(or --index DIR\)"):
        main([str(checkpoint)])


def test_export_never_writes_over_its_checkpoint_or_another_kind_of_file(tmp_path):
    config = tiny_config(tmp_path)
    model = TransformerNet(config.model.width, config.model.res_blocks)
    checkpoint = save_checkpoint({"step": 7, "config": config.to_dict(), "model": model.state_dict()}, tmp_path, 1)
    before = checkpoint.read_bytes()
    with pytest.raises(FstError, match=r"-o .*step_0000007.pt: expected a file name ending in .onnx"):
        main([str(checkpoint), "-o", str(checkpoint)])
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(FstError, match="expected a file name ending in .onnx"):
        main([str(checkpoint), "-o", str(notes)])
    renamed = tmp_path / "ck.onnx"  # a checkpoint with an .onnx name, exported onto itself
    renamed.write_bytes(before)
    with pytest.raises(FstError, match="refusing to write over the input .*ck.onnx"):
        main([str(renamed), "-o", str(renamed)])
    painting = tmp_path / "painting.onnx"  # a painting's image under a model's name, exported onto itself
    painting.write_bytes(before)
    with pytest.raises(FstError, match="refusing to write over the input .*painting.onnx"):
        main(["--painting", str(painting), "-o", str(painting)])
    assert checkpoint.read_bytes() == before == renamed.read_bytes() == painting.read_bytes()
    assert notes.read_text() == "mine"
    blocker = tmp_path / "plain"
    blocker.write_text("")
    with pytest.raises(FstError, match=f"-o {blocker}/m.onnx: cannot write in {blocker}: {blocker} is a file"):
        main([str(checkpoint), "-o", str(blocker / "m.onnx")])


@pytest.mark.parametrize(("flag", "op"), [("--fp16", "Cast"), ("--int8", "DequantizeLinear")])
def test_reduced_precision_command_line_calibrates_on_the_photos_given(tmp_path, capsys, monkeypatch, flag, op):
    # An untrained network quantizes to ~27 dB; quantization quality is test_export's, on a trained one.
    monkeypatch.setattr("fst.export.MIN_PSNR_DB", 20.0)
    config = tiny_config(tmp_path).to_dict()
    config["data"]["root"] = str(tmp_path / "gone")  # the run's photos are not on this machine
    torch.manual_seed(0)
    model = TransformerNet(config["model"]["width"], config["model"]["res_blocks"])
    checkpoint = save_checkpoint({"step": 7, "config": config, "model": model.state_dict()}, tmp_path, 1)
    out = tmp_path / "m.onnx"
    with pytest.raises(FstError, match=f"the training photos {tmp_path / 'gone'} are not here; pass --photos DIR"):
        main([str(checkpoint), "-o", str(out), flag])
    assert main([str(checkpoint), "-o", str(out), flag, "--photos", str(DEMO_PHOTOS)]) == 0
    precision = flag[2:]
    assert capsys.readouterr().out.startswith(f"wrote {out} ({precision}, PSNR ")
    proto = onnx.load(out)
    assert {p.key: p.value for p in proto.metadata_props}["precision"] == precision
    assert op in {n.op_type for n in proto.graph.node}


def test_an_fp32_export_is_a_source_for_its_int8_copy(models, tmp_path, capsys):
    """A shipped style's int8 copy is made from its .onnx alone: the metadata carries over, and the copy names
    the network it was made from."""
    from fst.checkpoint import network_for, network_weights, weights_digest

    _, onnx_path = models
    source = copy_of(onnx_path, tmp_path / "wave.onnx", style="wave", style_image="wave.jpg", steps="6800")
    out = tmp_path / "wave-int8.onnx"
    assert main([str(source), "-o", str(out), "--int8", "--photos", str(DEMO_PHOTOS)]) == 0
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert [meta[k] for k in ("style", "style_image", "steps", "precision")] == ["wave", "wave.jpg", "6800", "int8"]
    assert meta["made_from"] == weights_digest(network_for(network_weights(source), source))
    assert float(meta["psnr_db"]) >= 30
    with pytest.raises(FstError, match=f"{source} names no photos; pass --photos DIR"):
        main([str(source), "-o", str(out), "--int8"])
    with pytest.raises(FstError, match=f"{out} is an int8 export, which does not hold the fp32 weights"):
        main([str(out), "-o", str(tmp_path / "again.onnx")])


def test_an_output_that_is_a_folder_is_refused(models, tmp_path):
    _, onnx_path = models
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(FstError, match=f"-o {tmp_path / 'dir.onnx'}: a folder; expected the .onnx file to write"):
        main([str(onnx_path), "-o", str(tmp_path / "dir.onnx")])


def test_a_distilled_checkpoint_exports_its_int8_copy_naming_the_student(models, tmp_path):
    """A student distilled from an .onnx teacher: its int8 copy names the student's weights as what it was made
    from, the fp32 export the teacher's."""
    from fst.checkpoint import load_model, network_for, network_weights, weights_digest
    from fst.distill import distill_config
    from fst.trainer import Trainer

    _, onnx_path = models
    teacher = copy_of(onnx_path, tmp_path / "wave.onnx", style="wave", style_image="wave.jpg", image_size="32")
    settings = dict(width=4, res_blocks=1, steps=2, batch_size=2, image_size=32, holdout=2, save_every=2)
    saved = Trainer(distill_config([str(teacher)], DEMO_PHOTOS, tmp_path / "run", **settings)).run().checkpoint
    fp32, int8 = tmp_path / "wave-fast.onnx", tmp_path / "wave-fast-int8.onnx"
    assert main([str(saved), "-o", str(fp32)]) == 0
    assert main([str(saved), "-o", str(int8), "--int8", "--photos", str(DEMO_PHOTOS)]) == 0
    made_from = {p: {m.key: m.value for m in onnx.load(p).metadata_props}["made_from"] for p in (fp32, int8)}
    assert made_from[fp32] == weights_digest(network_for(network_weights(teacher), teacher))
    assert made_from[int8] == weights_digest(load_model(saved)[0])


def test_a_shipped_style_by_name_is_a_source(tmp_path):
    from fst.onnxfile import onnx_weights_digest

    assert main(["wave", "-o", str(tmp_path / "wave-copy.onnx")]) == 0
    assert onnx_weights_digest(tmp_path / "wave-copy.onnx") == onnx_weights_digest(REPO / "exports" / "wave.onnx")


def test_a_checkpoint_of_several_styles_exports_with_their_names(tmp_path):
    config = tiny_config(tmp_path, style_image="", styles={"a": str(STARRY_NIGHT), "b": str(STARRY_NIGHT)})
    network = TransformerNet(8, 1, styles=2)
    for state in ({}, {"styles": ["x", "y"], "style_images": ["x.jpg", "y.jpg"]}):  # a run's; one that added y
        checkpoint = save_checkpoint({"step": 3, "config": config.to_dict(), "model": network.state_dict(), **state},
                                     tmp_path / "run", 1)  # fmt: skip
        out = tmp_path / "two.onnx"
        out.unlink(missing_ok=True)
        assert main([str(checkpoint), "-o", str(out)]) == 0
        expected = (["x", "y"], ["x.jpg", "y.jpg"]) if state else (["a", "b"], ["starry_night.jpg"] * 2)
        assert model_styles(out) == expected


def test_a_decoder_checkpoint_exports_the_arbitrary_model_and_a_painting_builds_in(tmp_path, capsys):
    from fst.decoder import Decoder
    from fst.errors import UsageError
    from fst.metadata import model_index

    config = tiny_config(tmp_path, style_image="", model={"architecture": "decoder", "encoder_layer": "relu2_1"})
    torch.manual_seed(0)
    state = {"step": 5, "config": config.to_dict(), "model": Decoder("relu2_1", 8).state_dict()}
    checkpoint = save_checkpoint(state, tmp_path / "run", keep_last=1)
    folder = tmp_path / "out"
    folder.mkdir()
    assert main([str(checkpoint), "-o", str(folder / "arbitrary.onnx")]) == 0
    assert "the arbitrary-style model, fp32, max abs error" in capsys.readouterr().out
    with pytest.raises(UsageError, match="is a decoder: its model is exported in fp32 for any size"):
        main([str(checkpoint), "-o", str(folder / "a8.onnx"), "--int8"])
    assert main([str(folder / "arbitrary.onnx"), "--painting", str(STARRY_NIGHT), "--strength", "0.7",
                 "-o", str(folder / "starry.onnx")]) == 0  # fmt: skip
    session = onnx_session(folder / "starry.onnx")
    assert [i.name for i in session.get_inputs()] == ["image"]
    with pytest.raises(UsageError, match="--painting writes an fp32 model that takes any size"):
        main([str(folder / "arbitrary.onnx"), "--painting", str(STARRY_NIGHT), "--fp16", "-o", str(tmp_path / "x.onnx")])
    entries = {m["file"]: m for m in model_index(folder)["models"]}
    assert entries["arbitrary.onnx"]["kind"] == "arbitrary" and "kind" not in entries["starry.onnx"]
    assert entries["starry.onnx"]["style"] == "starry_night"
