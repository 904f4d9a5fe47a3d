import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO_PHOTOS, copy_of
from PIL import Image

from fst.cli.infer import main
from fst.errors import FstError
from fst.images import load_rgb, resize_long_side


def test_a_missing_input_is_named(models, tmp_path):
    with pytest.raises(FstError, match="input not found: missing.jpg"):
        main(["--model", str(models[1]), "--input", "missing.jpg", "--output", str(tmp_path / "o.jpg")])


def test_max_memory_tiles_a_large_image_and_must_be_positive(models, tmp_path, monkeypatch):
    import fst.catalogue

    tiles = []
    monkeypatch.setattr(fst.stylize, "stylize_tiled", lambda backend, image, tile, *rest: tiles.append(tile) or image)
    source, target = tmp_path / "in.png", tmp_path / "out.png"
    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((300, 200)).save(source)
    args = ["--model", str(models[1]), "--input", str(source), "--output", str(target), "--overwrite"]
    assert main([*args, "--max-memory", "0.3"]) == 0 and tiles == [256]  # below the 0.4 GB a whole pass needs
    assert main(args) == 0 and tiles == [256]  # the default budget (1 GB or more) runs it whole
    with pytest.raises(FstError, match=r"^--max-memory 0: expected a number of GB > 0$"):
        main([*args, "--max-memory", "0"])
    with pytest.raises(FstError, match=r"^--max-memory inf: expected a number of GB > 0$"):
        main([*args, "--max-memory", "inf"])
    with pytest.raises(FstError, match=r"^--size 100000: expected 8 to 10000 pixels$"):
        main([*args, "--size", "100000"])


def test_a_large_photo_is_painted_at_the_style_scale_and_full_resolution_shows_its_tiles(models, tmp_path, capsys):
    """By default a photo over 1280 pixels runs at 1280 on its long side (strokes of the painting's size, not
    confetti); --style-scale full runs the whole resolution, here in tiles under a small budget, with a bar."""
    seen = []
    source, target = tmp_path / "big.png", tmp_path / "out.png"
    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((1600, 1000)).save(source)
    args = ["--model", str(models[1]), "--input", str(source), "--output", str(target), "--overwrite"]
    from fst.stylize import Stylizer

    stylize = Stylizer.network
    spy = lambda self, photo, on_tile=None: seen.append(photo.size) or stylize(self, photo, on_tile)  # noqa: E731
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Stylizer, "network", spy)
        assert main(args) == 0 and seen == [(1280, 800)]
        assert main([*args, "--style-scale", "full", "--max-memory", "0.5"]) == 0 and seen[-1] == (1600, 1000)
    assert Image.open(target).size == (1600, 1000)
    bar = capsys.readouterr().err
    assert re.search(r"big\.png: +\d+%.*\| \d+/(\d+) \[", bar) and "tile" in bar  # the tiles counted as they went


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
    import cv2

    _, onnx_path = models
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:                           NONE\n")
    with pytest.raises(FstError, match=r"this OpenCV is the headless build: pip install 'fst-style\[webcam\]'"):
        main(["--model", str(onnx_path), "--input", "webcam:0"])
    with pytest.raises(FstError, match="--input webcam:N takes a camera index"):
        main(["--model", str(onnx_path), "--input", "webcam:front"])


def decoded_frames(path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_no_temporal_gives_the_per_frame_video_and_the_default_is_stabilized(models, tmp_path):
    from fst.stylize import Stylizer
    from fst.video import transform_video

    _, onnx_path = models
    clip = tmp_path / "clip.mp4"
    make_video(clip, 64, 48, frames=8, audio=False)
    base = ["--model", str(onnx_path), "--input", str(clip), "--output"]
    assert main([*base, str(tmp_path / "plain.mp4"), "--no-temporal"]) == 0
    assert main([*base, str(tmp_path / "stable.mp4")]) == 0
    transform_video(clip, tmp_path / "per_frame.mp4", Stylizer(onnx_path).stylize, lambda: None)
    plain, per_frame = decoded_frames(tmp_path / "plain.mp4"), decoded_frames(tmp_path / "per_frame.mp4")
    assert len(plain) == 8 and all(np.array_equal(a, b) for a, b in zip(plain, per_frame))
    stable = decoded_frames(tmp_path / "stable.mp4")
    assert np.array_equal(stable[0], plain[0]) and not np.array_equal(stable[-1], plain[-1])


def test_a_video_runs_the_stable_variant_beside_the_model_and_says_so(models, tmp_path, capsys):
    from test_stable import stable_pair

    from fst.stylize import Stylizer
    from fst.video import transform_video

    _, onnx_path = models
    plain, stable = stable_pair(onnx_path, tmp_path)
    clip = tmp_path / "clip.mp4"
    make_video(clip, 64, 48, frames=4, audio=False)
    base = ["--model", str(plain), "--input", str(clip), "--output"]
    assert main([*base, str(tmp_path / "out.mp4")]) == 0
    assert "videos: running wave: the full stable network, in onnxruntime\n" in capsys.readouterr().err
    assert main([*base, str(tmp_path / "out.mp4"), "--overwrite", "--verbose"]) == 0
    assert f"videos: running {stable}, fine-tuned to hold its strokes still" in capsys.readouterr().err
    assert main([*base, str(tmp_path / "plain.mp4"), "--no-temporal"]) == 0
    assert "videos: running" not in capsys.readouterr().err
    transform_video(clip, tmp_path / "stable.mp4", Stylizer(stable).stylize, lambda: None)
    out, plain_frames, stable_frames = (decoded_frames(tmp_path / f"{n}.mp4") for n in ("out", "plain", "stable"))
    assert len(out) == 4 and all(np.array_equal(a, b) for a, b in zip(out, stable_frames))  # frame by frame, no filter
    assert not np.array_equal(out[0], plain_frames[0])


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


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
def test_animations_keep_every_frame_their_durations_and_loop(models, tmp_path, suffix):
    _, onnx_path = models
    photo = load_rgb(DEMO_PHOTOS / "chelsea.jpg").resize((48, 24))
    frames = [photo.crop((8 * i, 0, 8 * i + 32, 24)) for i in range(3)]  # a pan: every frame differs
    source = tmp_path / f"in{suffix}"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=[40, 80, 120], loop=2)
    target = tmp_path / f"out{suffix}"
    assert main(["--model", str(onnx_path), "--input", str(source), "--output", str(target)]) == 0
    with Image.open(target) as out:
        assert out.n_frames == 3 and out.size == (32, 24) and out.info.get("loop") == 2
        durations = []
        for i in range(3):
            out.seek(i)
            durations.append(out.info.get("duration"))
    if suffix != ".webp":  # Pillow does not read WebP frame durations back
        assert durations == [40, 80, 120]


def test_an_animation_to_a_still_format_is_an_error_unless_asked_for(models, tmp_path, capsys):
    _, onnx_path = models
    photo = load_rgb(DEMO_PHOTOS / "coffee.jpg").resize((40, 24))
    frames = [photo.crop((0, 0, 32, 24)), photo.crop((8, 0, 40, 24))]
    frames[0].save(tmp_path / "in.gif", save_all=True, append_images=frames[1:], duration=50)
    args = ["--model", str(onnx_path), "--input", str(tmp_path / "in.gif"), "--output", str(tmp_path / "out.jpg")]
    assert main(args) == 1
    assert "in.gif: an animation of 2 frames; write it as .gif, .png or .webp, or pass --first-frame" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out.jpg").exists()
    assert main([*args, "--first-frame"]) == 0
    assert Image.open(tmp_path / "out.jpg").size == (32, 24)


def test_the_int8_copy_a_cpu_runs_is_named_and_no_int8_runs_the_model_given(models, tmp_path, capsys, monkeypatch):
    from test_stylize import int8_copy

    _, onnx_path = models
    model, sibling = tmp_path / "style.onnx", tmp_path / "style-int8.onnx"
    model.write_bytes(onnx_path.read_bytes())
    int8_copy(onnx_path, sibling)
    Image.new("RGB", (40, 32), "teal").save(tmp_path / "in.png")
    monkeypatch.setattr("fst.runtimes.fast_int8", lambda: (True, "the CPU has AVX2"))
    args = ["--model", str(model), "--input", str(tmp_path / "in.png"), "--device", "cpu", "--overwrite"]
    assert main([*args, "--output", str(tmp_path / "a.png")]) == 0
    assert capsys.readouterr().err.startswith("running style: the full network, int8, in ")  # one line, quiet
    assert main([*args, "--output", str(tmp_path / "a.png"), "--verbose"]) == 0
    assert f"running {sibling} (int8, 36.5 dB PSNR against fp32): the CPU has AVX2\n" in capsys.readouterr().err
    assert main([*args, "--output", str(tmp_path / "b.png"), "--no-int8"]) == 0
    assert capsys.readouterr().err.startswith("running style: the full network, in ")


def test_fast_runs_the_distilled_variant_or_says_there_is_none(models, tmp_path, capsys):
    _, onnx_path = models
    model, fast = tmp_path / "style.onnx", tmp_path / "style-fast.onnx"
    model.write_bytes(onnx_path.read_bytes())
    Image.new("RGB", (40, 32), "teal").save(tmp_path / "in.png")
    args = ["--model", str(model), "--input", str(tmp_path / "in.png"), "--device", "cpu", "--fast"]
    with pytest.raises(FstError, match=f"fast: no {fast} beside {model}"):
        main([*args, "--output", str(tmp_path / "a.png")])
    assert not (tmp_path / "a.png").exists()
    copy_of(onnx_path, fast, made_from=model)
    assert main([*args, "--output", str(tmp_path / "a.png"), "-v"]) == 0
    assert capsys.readouterr().err.startswith(f"running {fast}\n")
    assert (tmp_path / "a.png").is_file()


def test_a_truncated_animation_is_one_error_and_the_other_inputs_are_stylized(models, tmp_path, capsys):
    _, onnx_path = models
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue", "white")]
    frames[0].save(tmp_path / "full.gif", save_all=True, append_images=frames[1:], duration=100)
    inputs = tmp_path / "in"
    inputs.mkdir()
    data = (tmp_path / "full.gif").read_bytes()
    (inputs / "a_truncated.gif").write_bytes(data[: len(data) * 2 // 3])
    frames[0].save(inputs / "b_still.png")
    out = tmp_path / "out"
    assert main(["--model", str(onnx_path), "--input", str(inputs), "--output", str(out), "--device", "cpu"]) == 1
    assert "cannot read frame " in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["b_still.png"]


def test_a_video_that_decodes_fewer_frames_than_it_declares_is_an_error(models, tmp_path, capsys, monkeypatch):
    """A damaged file whose decoder stops early without an error: the shorter output is kept, and said so."""
    _, onnx_path = models
    make_video(tmp_path / "in.mp4", 32, 24, 6, audio=False)
    monkeypatch.setattr("fst.cli.infer.count_frames", lambda path: 9)  # what its header would say
    args = ["--model", str(onnx_path), "--input", str(tmp_path / "in.mp4"), "--output", str(tmp_path / "out.mp4")]
    assert main([*args, "--device", "cpu", "--no-temporal"]) == 1
    assert (f"error: {tmp_path / 'in.mp4'}: only 6 of its 9 frames could be decoded (a damaged file); "
            f"{tmp_path / 'out.mp4'} holds those 6") in capsys.readouterr().err  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--input", "x.jpg", "--output", "o.jpg"], 2, "--model is required"),
        (["--model", "wave", "--output", "o.jpg"], 2, "--input is required"),
        (["--model", "wave", "--input", "x.jpg"], 2, "--output is required"),
        (["--model", "wave", "--input", "x.jpg", "--output", "o.jpg", "--strength", "1.5"], 2,
         "strength 1.5: expected a number from 0 to 1"),
        (["--model", "wave", "--input", "x.jpg", "--output", "o.jpg", "--size", "3"], 2, "--size 3: expected 8"),
        (["--model", "wave", "--input", "x.jpg", "--output", "o.jpg", "--tile", "16"], 2, "tile 16: expected at least"),
        (["--model", "nosuchstyle", "--input", "x.jpg", "--output", "o.jpg"], 1, "model not found: nosuchstyle"),
        (["--model", "wave", "--input", "missing.jpg", "--output", "o.jpg"], 1, "input not found: missing.jpg"),
        (["--model", "wave", "--input", "x.jpg", "--output", "o.jpg", "--strength", "x"], 2, "invalid float value"),
        (["--model", "wave", "--input", "x.jpg", "--output", "o.jpg", "--style-scale", "16"], 2,
         "argument --style-scale: expected a number of pixels of at least 32, or 'full'"),
        (["--model", "wave", "--input", "x.jpg", "--output", "o.jpg", "--style", "wave"], 1,
         "holds one style: a blend needs a model of several"),
    ],
)  # fmt: skip
def test_exit_codes_as_documented_usage_2_other_failures_1(argv, code, message, tmp_path, monkeypatch, capsys):
    """docs/bad-input.md: 2 for a command line that is wrong before any work, 1 for an input or the environment."""
    from fst.errors import run_cli

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (40, 30)).save(tmp_path / "x.jpg")
    if message.startswith(("invalid", "argument")):  # argparse's own usage errors exit 2 through SystemExit
        with pytest.raises(SystemExit) as info:
            run_cli(main, argv)
        assert info.value.code == 2 and message in capsys.readouterr().err
        return
    assert run_cli(main, argv) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.jpg").exists()


def test_the_webcam_runs_the_fast_variant_where_there_is_one(models, monkeypatch):
    import fst.cli.infer

    asked = []
    video = lambda self, temporal, parallel: type("V", (), {"stylizer": self, "parallel": 1})()
    fake = type("S", (), {"choice": "", "runtime": "onnxruntime", "runtime_reason": "asked for", "video": video,
                          "styles": [], "path": Path("wave-fast.onnx")})  # fmt: skip
    monkeypatch.setattr(fst.cli.infer, "Stylizer", lambda *args, **options: asked.append(options["fast"]) or fake())
    monkeypatch.setattr(fst.cli.infer, "run_webcam", lambda index, transform, target, overwrite: 0)
    assert main(["--model", "wave", "--input", "webcam:0"]) == 0  # exports/wave-fast.onnx, made from wave.onnx
    assert main(["--model", "wave", "--input", "webcam:0", "--no-fast"]) == 0
    assert main(["--model", str(models[1]), "--input", "webcam:0"]) == 0  # no fast variant beside it
    assert asked == [True, False, False]
    with pytest.raises(SystemExit):  # argparse: not allowed with argument --fast
        main(["--model", "wave", "--input", "webcam:0", "--fast", "--no-fast"])


class FakeCamera:
    """Frames as open_camera gives them, `count` of them, taken `interval` seconds apart; KeyboardInterrupt after
    the last one when `interrupt`, as a Ctrl-C would arrive."""

    def __init__(self, count: int, interval: float, interrupt: bool = False) -> None:
        self.count, self.interval, self.interrupt, self.dropped, self.closed = count, interval, interrupt, 0, False

    def __iter__(self):
        import time

        for i in range(self.count):
            time.sleep(self.interval)
            yield np.full((48, 64, 3), 40 * i, np.uint8)
        if self.interrupt:
            raise KeyboardInterrupt

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_webcam(monkeypatch):
    """fst.webcam's live window with a FakeCamera and no window; returns a setter for the camera."""
    import cv2

    import fst.webcam

    cameras = []
    monkeypatch.setattr(fst.webcam, "webcam_window_support", lambda: None)
    monkeypatch.setattr(fst.webcam, "open_camera", lambda index: cameras[-1])
    monkeypatch.setattr(cv2, "imshow", lambda *args: None)
    monkeypatch.setattr(cv2, "waitKey", lambda delay: -1)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    return cameras.append


@pytest.mark.parametrize("interrupt", [False, True])
def test_the_webcam_records_at_the_rate_frames_came(models, tmp_path, fake_webcam, interrupt):
    from test_video import frames_of

    fake_webcam(camera := FakeCamera(5, 0.1, interrupt))
    target = tmp_path / "live.mp4"
    assert main(["--model", str(models[1]), "--input", "webcam:0", "--output", str(target), "--no-temporal"]) == 0
    times, frames, _ = frames_of(target)
    assert len(frames) == 5 and camera.closed
    steps = np.diff(times)
    assert 0.09 < steps.min() and steps.mean() < 0.2  # 10 frames/s as they came, not a fixed 30
    assert not list(tmp_path.glob(".*tmp*"))


def test_the_webcam_never_records_over_a_file_or_into_a_folder(models, tmp_path, fake_webcam):
    fake_webcam(FakeCamera(2, 0.0))
    target = tmp_path / "live.mp4"
    target.write_bytes(b"keep me")
    base = ["--model", str(models[1]), "--input", "webcam:0", "--no-temporal", "--output"]
    with pytest.raises(FstError, match=r"live.mp4 exists: use --overwrite to replace it"):
        main([*base, str(target)])
    assert target.read_bytes() == b"keep me"
    with pytest.raises(FstError, match=r"live.txt: the webcam records a video; use one of \.avi"):
        main([*base, str(tmp_path / "live.txt")])
    with pytest.raises(FstError, match=r"is a folder: the webcam records to one video file"):
        main([*base, str(tmp_path)])
    assert main([*base, str(target), "--overwrite"]) == 0 and describe_video(target)[:2] == (2, (64, 48))


@pytest.mark.parametrize(
    "content", [b"not json", b"", b"[1, 2]", b"\x89PNG\x00\xff", b'{"models": [{"file": "a.onnx"}]}',
                b'{"models": [{"file": "../a.onnx", "style": "a", "variant": "full", "precision": "fp32"}]}',
                b'{"models": 3}'],
)  # fmt: skip
def test_a_damaged_model_list_is_one_line_and_unknown_names_still_are(tmp_path, monkeypatch, content):
    import fst.catalogue

    (tmp_path / "models.json").write_bytes(content)
    monkeypatch.setattr(fst.catalogue, "SHIPPED_FOLDERS", (tmp_path,))
    with pytest.raises(FstError, match=rf"^{tmp_path / 'models.json'} is damaged \(.+\): python export.py "
                                       rf"--index {tmp_path} writes it anew$"):  # fmt: skip
        main(["--list"])
    with pytest.raises(FstError, match=r"model not found: nowhere \(.*or a style: none shipped here\)$"):
        main(["--model", "nowhere", "--input", str(DEMO_PHOTOS / "chelsea.jpg"), "--output", str(tmp_path / "o.jpg")])


def test_a_camera_jpeg_with_a_preview_inside_is_one_photo(models, tmp_path):
    photo = Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB").resize((64, 48))
    photo.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[photo.resize((32, 24))])
    assert Image.open(tmp_path / "camera.jpg").n_frames == 2  # what a camera writes: the photo and its preview
    assert main(["--model", str(models[1]), "--input", str(tmp_path / "camera.jpg"), "--output",
                 str(tmp_path / "out.jpg")]) == 0  # fmt: skip
    assert Image.open(tmp_path / "out.jpg").size == (64, 48)


def test_a_model_of_several_styles_says_which_one_runs_by_default(tmp_path, capsys):
    Image.open(DEMO_PHOTOS / "coffee.jpg").resize((40, 28)).save(tmp_path / "in.png")
    assert main(["--model", "four_styles", "--input", str(tmp_path / "in.png"), "--output", str(tmp_path / "o.png")]) == 0
    said = capsys.readouterr().err
    assert "style: starry_night, the first of starry_night, the_scream, wave, udnie (--style NAME" in said
    assert main(["--model", "four_styles", "--style", "wave", "--input", str(tmp_path / "in.png"), "--output",
                 str(tmp_path / "w.png")]) == 0  # fmt: skip
    assert "the first of" not in capsys.readouterr().err


def test_the_line_of_what_runs_names_the_style_and_every_end_of_its_file_name():
    """wave-fast-stable.onnx (what a --fast video runs) was named "wave-fast: the stable network"."""
    from types import SimpleNamespace

    from fst.cli.infer import what_runs

    def line(name: str, painting: str | None = None) -> str:
        return what_runs(SimpleNamespace(path=Path(name), runtime="openvino"), painting)

    assert line("exports/wave.onnx") == "wave: the full network, in openvino"
    assert line("exports/wave-int8.onnx") == "wave: the full network, int8, in openvino"
    assert line("exports/wave-fast.onnx") == "wave: the realtime network, in openvino"
    assert line("exports/wave-stable-int8.onnx") == "wave: the full stable network, int8, in openvino"
    assert line("exports/wave-fast-stable.onnx") == "wave: the realtime stable network, in openvino"
    assert line("runs/demo/last.pt") == "last: a training checkpoint, in openvino"
    painting = line("cache/wave-06e1.onnx", "my/wave.jpg")
    assert painting == "the painting wave.jpg: the arbitrary-style model, in openvino"
