from fractions import Fraction

import numpy as np
import pytest
from PIL import Image
from test_cli_infer import make_video

import fst.video
from fst.cli.infer import main
from fst.errors import FstError
from fst.video import transform_video

FRAMES = 60


def make_phone_video(path, rotation: int = 0) -> list[float]:
    """What a phone records: 30 frames/s with a 60 frames/s burst (frames 20 to 39), in a fine time base, and a
    display rotation; a white block at the stored frame's top left shows which way is up. Returns the frames'
    times in seconds."""
    import av

    times, tick = [], 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 600)
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(FRAMES):
            image = np.zeros((48, 64, 3), np.uint8)
            image[:16, :24] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = tick, Fraction(1, 600)
            times.append(tick / 600)
            tick += 10 if 20 <= i < 40 else 20
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return times


def frames_of(path) -> tuple[list[float], list[np.ndarray], list[int]]:
    """(times in seconds, RGB frames, display rotations) of a video file as a player decodes it."""
    import av

    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
        return ([float(f.pts * f.time_base) for f in decoded], [f.to_ndarray(format="rgb24") for f in decoded],
                [f.rotation for f in decoded])  # fmt: skip


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm"])
def test_a_variable_frame_rate_video_keeps_every_frame_at_its_time(tmp_path, suffix):
    times = make_phone_video(tmp_path / "phone.mp4")
    written = transform_video(tmp_path / "phone.mp4", tmp_path / f"out{suffix}", lambda image: image, lambda: None)
    got, _, _ = frames_of(tmp_path / f"out{suffix}")
    assert written == FRAMES and len(got) == FRAMES
    assert np.abs(np.array(got) - got[0] - np.array(times)).max() < 1.5e-3  # the burst's 1/60 s steps kept
    assert len(set(np.round(got, 4))) == FRAMES  # no two frames at one instant, which players drop


def test_frames_stylized_several_at_once_are_written_in_order_at_their_times(tmp_path):
    """Three workers, each frame's transform taking longer the earlier the frame (so they finish out of order):
    the file holds the frames in order, at their times, as one worker writes it, the audio kept."""
    import time

    make_video(tmp_path / "clip.mp4", 64, 48, frames=12, audio=True)
    count = iter(range(100))

    def slow_first(image: Image.Image) -> Image.Image:
        time.sleep(0.02 * (3 - next(count) % 3))
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    for workers in (1, 3):
        count = iter(range(100))
        written = transform_video(tmp_path / "clip.mp4", tmp_path / f"out{workers}.mp4", slow_first, lambda: None,
                                  workers=workers)  # fmt: skip
        assert written == 12
    (times_1, frames_1, _), (times_3, frames_3, _) = frames_of(tmp_path / "out1.mp4"), frames_of(tmp_path / "out3.mp4")
    _, source, _ = frames_of(tmp_path / "clip.mp4")
    assert times_3 == times_1 and all(np.array_equal(a, b) for a, b in zip(frames_3, frames_1))
    assert np.abs(frames_3[5].astype(int) - source[5][:, ::-1]).mean() < 3  # frame 5 in place 5, flipped
    import av

    with av.open(str(tmp_path / "out3.mp4")) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}


def test_a_portrait_phone_video_comes_out_upright(tmp_path):
    make_phone_video(tmp_path / "portrait.mp4", rotation=-90)  # stored landscape, shown turned 90 clockwise
    transform_video(tmp_path / "portrait.mp4", tmp_path / "out.mp4", lambda image: image, lambda: None)
    _, frames, rotations = frames_of(tmp_path / "out.mp4")
    assert frames[0].shape == (64, 48, 3) and set(rotations) == {0}
    # Turned clockwise, the stored top-left block is at the top right.
    assert frames[0][:20, -12:].mean() > 200 and frames[0][:20, :12].mean() < 40


def test_webm_is_vp9_and_opus_and_a_folder_goes_on_past_it(models, tmp_path):
    import av

    _, onnx_path = models
    make_video(tmp_path / "clip.mp4", 64, 48, frames=6, audio=True)  # H.264 and AAC, which WebM cannot hold
    transform_video(tmp_path / "clip.mp4", tmp_path / "out.webm", lambda image: image, lambda: None)
    with av.open(str(tmp_path / "out.webm")) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
        assert codecs == {"video": "vp9", "audio": "opus"} and container.streams.video[0].frames in (0, 6)
        assert sum(1 for _ in container.decode(video=0)) == 6
    (tmp_path / "in").mkdir()
    (tmp_path / "out.webm").rename(tmp_path / "in" / "a.webm")
    make_video(tmp_path / "in" / "b.mp4", 32, 24, frames=3, audio=True)
    args = ["--model", str(onnx_path), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
    assert main([*args, "--no-temporal"]) == 0
    assert [len(frames_of(tmp_path / "out" / name)[0]) for name in ("a.webm", "b.mp4")] == [6, 3]


def test_frames_larger_than_an_image_may_be_are_refused_before_decoding(tmp_path, monkeypatch):
    make_video(tmp_path / "clip.mp4", 64, 48, frames=2, audio=False)
    monkeypatch.setattr(fst.video, "MAX_FRAME_PIXELS", 64 * 48 - 1)
    with pytest.raises(FstError, match=r"declares frames of 64x48, over the limit of .* refusing to decode it"):
        transform_video(tmp_path / "clip.mp4", tmp_path / "out.mp4", lambda image: image, lambda: None)
    with pytest.raises(FstError, match="declares frames of 64x48"):
        fst.video.count_frames(tmp_path / "clip.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_a_frame_of_another_size_is_fitted_to_the_first(tmp_path):
    make_video(tmp_path / "clip.mp4", 64, 48, frames=3, audio=False)
    sizes = iter([(64, 48), (40, 30), (64, 48)])
    transform_video(tmp_path / "clip.mp4", tmp_path / "out.mp4", lambda image: Image.new("RGB", next(sizes), "red"),
                    lambda: None)  # fmt: skip
    _, frames, _ = frames_of(tmp_path / "out.mp4")
    assert [f.shape for f in frames] == [(48, 64, 3)] * 3
