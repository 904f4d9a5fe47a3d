import shutil
import sys

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from fst.checkpoint import save_checkpoint
from fst.config import LossConfig
from fst.data import load_rgb, resize_long_side, to_tensor
from fst.errors import FstError
from fst.export import export_onnx
from fst.losses import perceptual_loss
from fst.optimize import evaluate
from fst.stylize import Stylizer, main
from fst.trainer import load_style_image
from fst.transformer import TransformerNet

from conftest import DEMO_PHOTOS, REPO, tiny_config


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
    assert f"error: cannot read {inputs / 'nested' / 'broken.jpg'} (" in out.err  # errors go to stderr
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


def test_alpha_is_carried_through(models, tmp_path):
    _, onnx_path = models
    image = Image.open(DEMO_PHOTOS / "chelsea.jpg").resize((48, 32)).convert("RGBA")
    alpha = Image.linear_gradient("L").resize((48, 32))
    image.putalpha(alpha)
    image.save(tmp_path / "cut.png")
    assert (
        main(["--model", str(onnx_path), "--input", str(tmp_path / "cut.png"), "--output", str(tmp_path / "o.png")])
        == 0
    )
    out = Image.open(tmp_path / "o.png")
    assert out.mode == "RGBA" and out.size == (48, 32)
    assert list(out.getchannel("A").getdata()) == list(alpha.getdata())
    assert (
        main(["--model", str(onnx_path), "--input", str(tmp_path / "cut.png"), "--output", str(tmp_path / "o.jpg")])
        == 0
    )
    assert Image.open(tmp_path / "o.jpg").mode == "RGB"  # jpeg holds no alpha: composited onto white


def test_grayscale_and_16bit_inputs(models, tmp_path):
    _, onnx_path = models
    Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("L").resize((40, 30)).save(tmp_path / "gray.png")
    deep = Image.new("I;16", (40, 30))
    deep.putdata([x * 1600 for y in range(30) for x in range(40)])
    deep.save(tmp_path / "deep.png")
    assert main(["--model", str(onnx_path), "--input", str(tmp_path / "gray.png"), str(tmp_path / "deep.png"),
                 "--output", str(tmp_path / "out")]) == 0  # fmt: skip
    for name in ("gray.png", "deep.png"):
        out = Image.open(tmp_path / "out" / name)
        assert out.mode == "RGB" and out.size == (40, 30)


@pytest.mark.parametrize("backend", ["onnx", "checkpoint"])
def test_tiled_equals_whole_when_statistics_are_exact(models, backend):
    """An image at most 2 tiles long gets exact instance-norm statistics: only the seams could differ."""
    checkpoint, onnx_path = models
    model = onnx_path if backend == "onnx" else checkpoint
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").resize((150, 101))
    whole = np.asarray(Stylizer(model, "cpu").stylize(photo), dtype=float)
    tiled = np.asarray(Stylizer(model, "cpu", tile=80, overlap=32).stylize(photo), dtype=float)
    butted = np.asarray(Stylizer(model, "cpu", tile=80, overlap=0).stylize(photo), dtype=float)
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).mean() <= 2  # the promise: 2/255 on [0, 1], here on 0..255
    assert np.abs(tiled - whole).mean() < 0.6 * np.abs(butted - whole).mean()  # blending hides the seams


def test_tiles_cover_the_image_on_the_network_stride():
    from fst.stylize import blend_ramp, tile_starts

    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(301, 128, 40)
    assert all(s % 4 == 0 for s in starts) and starts[0] == 0 and starts[-1] + 128 + 3 >= 301
    assert all(b - a <= 128 - 40 for a, b in zip(starts, starts[1:]))
    ramp = blend_ramp(10, 4, fade_in=True, fade_out=False)
    assert ramp.tolist() == [0.125, 0.375, 0.625, 0.875, 1, 1, 1, 1, 1, 1]


def test_onnx_statistics_graphs_match_pytorch(models):
    checkpoint, onnx_path = models
    torch_stylizer, onnx_stylizer = Stylizer(checkpoint, "cpu"), Stylizer(onnx_path, "cpu")
    images = torch.rand(1, 3, 40, 56)
    a, b = torch_stylizer.backend.norm_stats(images), onnx_stylizer.backend.norm_stats(images)
    assert len(a) == len(b) == 7  # 3 downsampling convs, 2 in the residual block, 2 upsampling
    for (mean_a, var_a), (mean_b, var_b) in zip(a, b):
        torch.testing.assert_close(mean_b, mean_a, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(var_b, var_a, rtol=1e-4, atol=1e-5)
    tile = images[..., :24, :32]
    torch.testing.assert_close(
        onnx_stylizer.backend.with_stats(tile, a), torch_stylizer.backend.with_stats(tile, a), rtol=0, atol=1e-4
    )


def test_preserve_colors_and_strength(models):
    _, onnx_path = models
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").resize((60, 40))
    assert np.array_equal(np.asarray(Stylizer(onnx_path, strength=0.0).stylize(photo)), np.asarray(photo))
    kept = Stylizer(onnx_path, preserve_colors=True).stylize(photo).convert("YCbCr")
    original = photo.convert("YCbCr")
    for channel in ("Cb", "Cr"):
        diff = np.abs(
            np.asarray(kept.getchannel(channel), dtype=int) - np.asarray(original.getchannel(channel), dtype=int)
        )
        assert diff.mean() < 1.5  # the photo's chroma, up to YCbCr -> RGB -> YCbCr rounding
    styled = np.asarray(Stylizer(onnx_path).stylize(photo), dtype=float)
    half = np.asarray(Stylizer(onnx_path, strength=0.5).stylize(photo), dtype=float)
    assert np.abs(half - (styled + np.asarray(photo, dtype=float)) / 2).max() <= 1


def test_globs_mirror_below_the_pattern(models, tmp_path):
    _, onnx_path = models
    (tmp_path / "in" / "a").mkdir(parents=True)
    for name in ("a/x.jpg", "y.jpg", "z.txt"):
        Image.new("RGB", (16, 16), "red").save(tmp_path / "in" / name, "JPEG")
    pattern = str(tmp_path / "in" / "**" / "*.jpg")
    assert main(["--model", str(onnx_path), "--input", pattern, "--output", str(tmp_path / "out")]) == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == [
        "a", "a/x.jpg", "y.jpg",
    ]  # fmt: skip


def make_video(path, width, height, frames, audio=True):
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = width, height, "yuv444p" if width % 2 else "yuv420p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        for i in range(frames):
            image = np.zeros((height, width, 3), np.uint8)
            image[:, : 5 * i] = 200
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        if sound is not None:
            tone = (0.3 * np.sin(np.arange(1600 * frames) * 2 * np.pi * 440 / 16000)).astype(np.float32)[None]
            for start in range(0, tone.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(tone[:, start : start + 1024], format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 16000, start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)


def describe_video(path):
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return frames, (video.width, video.height), sorted(s.type for s in container.streams)


@pytest.mark.parametrize(("size", "audio"), [((64, 48), True), ((33, 25), False)])
def test_video_keeps_frame_count_size_and_audio(models, tmp_path, size, audio):
    checkpoint, _ = models
    make_video(tmp_path / "clip.mp4", *size, frames=12, audio=audio)
    assert (
        main(["--model", str(checkpoint), "--input", str(tmp_path / "clip.mp4"), "--output", str(tmp_path / "out.mp4")])
        == 0
    )
    expected_streams = ["audio", "video"] if audio else ["video"]
    assert describe_video(tmp_path / "out.mp4") == (12, size, expected_streams)
    assert describe_video(tmp_path / "clip.mp4") == (12, size, expected_streams)


def test_webcam_errors_are_clear(models, monkeypatch):
    _, onnx_path = models
    monkeypatch.setitem(sys.modules, "cv2", None)  # as if OpenCV were not installed
    with pytest.raises(FstError, match=r"--input webcam:N needs OpenCV: pip install 'fst\[webcam\]'"):
        main(["--model", str(onnx_path), "--input", "webcam:0"])
    with pytest.raises(FstError, match="--input webcam:N takes a camera index"):
        main(["--model", str(onnx_path), "--input", "webcam:front"])


def test_a_corrupt_video_is_reported_and_the_rest_processed(models, tmp_path, capsys):
    _, onnx_path = models
    (tmp_path / "in").mkdir()
    make_video(tmp_path / "in" / "good.mp4", 32, 24, frames=3, audio=False)
    (tmp_path / "in" / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    Image.new("RGB", (16, 16), "blue").save(tmp_path / "in" / "still.png")
    assert main(["--model", str(onnx_path), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 1
    assert "bad.mp4" in capsys.readouterr().err
    assert describe_video(tmp_path / "out" / "good.mp4")[:2] == (3, (32, 24))
    assert (tmp_path / "out" / "still.png").is_file() and not (tmp_path / "out" / "bad.mp4").exists()


@pytest.mark.parametrize("style", ["starry_night", "the_scream", "wave"])
def test_shipped_style_moves_a_photo_towards_its_painting(style):
    """exports/<style>.onnx works with no training: it names its style and takes a photo far towards the painting."""
    model = REPO / "exports" / f"{style}.onnx"
    assert {p.key: p.value for p in onnx.load(model).metadata_props}["style"] == style
    style_image = load_style_image(str(REPO / "data" / "styles" / f"{style}.jpg"), 512)
    loss_fn = perceptual_loss(LossConfig(), style_image, torch.device("cpu"))
    photo = resize_long_side(load_rgb(DEMO_PHOTOS / "chelsea.jpg"), 256)
    target = loss_fn.content_target(to_tensor(photo).unsqueeze(0))
    before = evaluate(loss_fn, to_tensor(photo).unsqueeze(0), target)
    after = evaluate(loss_fn, to_tensor(Stylizer(model, "cpu").stylize(photo)).unsqueeze(0), target)
    assert after["style"] < 0.65 * before["style"], (before, after)  # 0.54 for starry_night
    assert after["content"] < 1.0, after  # the photo is still there: 0.72


def test_a_too_small_image_is_reported_by_path_and_the_rest_processed(models, tmp_path, capsys):
    _, onnx_path = models
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg"):
        resize_long_side(load_rgb(DEMO_PHOTOS / name), 64).save(folder / name)
    Image.new("RGB", (1, 1)).save(folder / "dot.png")
    assert main(["--model", str(onnx_path), "--input", str(folder), "--output", str(tmp_path / "out")]) == 1
    assert f"error: {folder / 'dot.png'}: image of 1x1 is too small" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["chelsea.jpg", "coffee.jpg"]


def test_an_output_that_cannot_be_a_folder_is_refused_before_any_work(models, tmp_path):
    _, onnx_path = models
    plain = tmp_path / "out"
    plain.write_text("a file, not a folder")
    with pytest.raises(FstError) as info:
        main(["--model", str(onnx_path), "--input", str(DEMO_PHOTOS), "--output", str(plain)])
    assert str(info.value) == f"--output {plain}: cannot write in {plain}: {plain} is a file, not a folder"
    assert plain.read_text() == "a file, not a folder"


def test_an_onnx_model_that_is_not_an_fst_network_is_refused_on_load(tmp_path):
    from onnx import TensorProto, helper

    for name, shape in (("x", ["n", 3, "h", "w"]), ("image", ["n", 3])):
        graph = helper.make_graph(
            [helper.make_node("Identity", [name], ["y"])], "g",
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        )  # fmt: skip
        path = tmp_path / f"{name}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), path)
        with pytest.raises(FstError) as info:
            Stylizer(path)
        assert str(info.value) == (
            f"{path} is not an fst model: expected one input 'image' and one output, float32 of shape "
            f"(batch, 3, height, width); it has inputs {name} (tensor(float), shape {shape}) and outputs y "
            f"(tensor(float), shape {shape})"
        )
