"""OpenVINO behind onnxruntime's interface: the same pictures, the same blends, the same tiles."""

import importlib.util

import numpy as np
import pytest
from conftest import DEMO_PHOTOS
from PIL import Image

from fst.backends import OnnxBackend
from fst.images import to_array

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="OpenVINO is not installed (pip install openvino)"
)


def both(path) -> tuple[OnnxBackend, OnnxBackend]:
    return OnnxBackend(path, cuda=False, runtime="onnxruntime"), OnnxBackend(path, cuda=False, runtime="openvino")


def test_openvino_gives_onnxruntimes_picture_at_any_size(models):
    ort, ov = both(models[1])
    photo = to_array(Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB").resize((75, 50)))  # padded to 76x52
    first = ov(photo)
    assert first.shape == (1, 3, 50, 75)
    np.testing.assert_allclose(first, ort(photo), rtol=0, atol=1e-4)
    ov(np.zeros_like(photo))
    np.testing.assert_allclose(first, ort(photo), rtol=0, atol=1e-4)  # its own array, not the request's buffer
    assert [a.name for a in ov.session.get_inputs()] == ["image"] and ov.session.get_inputs()[0].shape[1] == 3


def test_openvino_blends_and_tiles_as_onnxruntime(models, tmp_path):
    import json

    from test_backends import two_style_export

    path = two_style_export(tmp_path, styles=json.dumps(["a", "b"]))
    ort, ov = both(path)
    image = np.random.default_rng(0).random((1, 3, 40, 56), dtype=np.float32)
    for backend in (ort, ov):
        backend.use_style(np.array([0.3, 0.7], np.float32))
    np.testing.assert_allclose(ov(image), ort(image), rtol=0, atol=1e-4)
    stats = ort.norm_stats(image)
    for (mean_a, var_a), (mean_b, var_b) in zip(stats, ov.norm_stats(image)):
        np.testing.assert_allclose(mean_b, mean_a, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(var_b, var_a, rtol=1e-4, atol=1e-5)
    tile = image[..., :24, :32]
    np.testing.assert_allclose(ov.with_stats(tile, stats), ort.with_stats(tile, stats), rtol=0, atol=1e-4)


def test_frames_go_through_openvino_as_uint8_with_the_same_picture(models, tmp_path):
    """The uint8 graph (conversions inside OpenVINO) gives the float path's picture, rounded the same way: within
    one level where the two fall either side of a half; any size, padded and cropped as the float path is."""
    from fst.images import from_array
    from fst.stylize import Stylizer

    stylizer = Stylizer(models[1], "cpu", runtime="openvino")
    assert stylizer.frames is not None
    for size in ((75, 50), (64, 48)):
        frame = np.asarray(Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB").resize(size))
        through = stylizer.stylize(frame)
        expected = np.asarray(from_array(OnnxBackend(models[1], cuda=False)(to_array(Image.fromarray(frame)))[0]))
        difference = np.abs(through.astype(int) - expected)
        assert through.shape == frame.shape and through.dtype == np.uint8
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01
    assert Stylizer(models[1], "cpu", runtime="onnxruntime").frames is None  # onnxruntime: the float path


def test_a_frame_that_comes_out_nan_is_refused_not_written_black(models, tmp_path):
    """A network whose output is NaN: the uint8 graph would round it to black; its finite flag says so."""
    import onnx
    from onnx import helper, numpy_helper

    from fst.errors import FstError
    from fst.stylize import Stylizer

    proto = onnx.load(models[1])
    final = proto.graph.output[0].name
    proto.graph.node[-1].output[0] = "before_nan"
    proto.graph.initializer.append(numpy_helper.from_array(np.array(np.nan, np.float32), "nan"))
    proto.graph.node.append(helper.make_node("Mul", ["before_nan", "nan"], [final]))
    onnx.save(proto, tmp_path / "nan.onnx")
    stylizer = Stylizer(tmp_path / "nan.onnx", "cpu", runtime="openvino")
    with pytest.raises(FstError, match=r"nan.onnx gave NaN or infinite values for a 40x30 image$"):
        stylizer.stylize(np.zeros((30, 40, 3), np.uint8))


def test_compiled_models_are_kept_in_a_private_cache_and_give_the_same_picture(models, tmp_path, monkeypatch):
    """OpenVINO's CACHE_DIR lies in fst's own cache folder, mode 0700; a second compile of the same model reads the
    cache and paints the same picture. Where the folder is a link or a file is in its way, nothing is cached."""
    from fst.ovsession import compile_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "fst" / "openvino"
    photo = to_array(Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB").resize((64, 48)))
    first = OnnxBackend(models[1], cuda=False, runtime="openvino")(photo)
    assert compile_cache() == {"CACHE_DIR": str(folder)} and (folder.stat().st_mode & 0o777) == 0o700
    assert any(folder.iterdir())  # the compiled model, kept
    again = OnnxBackend(models[1], cuda=False, runtime="openvino")(photo)
    np.testing.assert_array_equal(again, first)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "linked"))
    (tmp_path / "linked" / "fst").mkdir(parents=True)
    (tmp_path / "linked" / "fst" / "openvino").symlink_to(elsewhere)
    assert compile_cache() == {}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
    (tmp_path / "blocked" / "fst").mkdir(parents=True)
    (tmp_path / "blocked" / "fst" / "openvino").write_text("a file where the folder would be")
    assert compile_cache() == {}


def test_frames_on_streams_give_the_same_pictures_from_several_threads_at_once(models):
    """Frames run on OpenVINO's streams, several at once from threads of their own (a video's frames), give the
    picture each gives alone: no request is shared between two frames. A stylizer of a file's video says how many
    it takes at once; a live camera's, and any with the temporal filter, take one."""
    from concurrent.futures import ThreadPoolExecutor

    from fst.stylize import Stylizer

    stylizer = Stylizer(models[1], "cpu", runtime="openvino")
    photo = Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB")
    frames = [np.asarray(photo.resize((64 + 8 * i, 48))) for i in range(6)]
    alone = [stylizer.stylize(frame) for frame in frames]
    streams = stylizer.backend.frame_streams()
    assert streams >= 1 and streams == stylizer.backend.session.stream_count()
    with ThreadPoolExecutor(4) as pool:
        streamed = list(pool.map(lambda f: stylizer.backend.frames(f, streamed=True), frames * 3))
    for picture, expected in zip(streamed, alone * 3):
        assert picture.shape == expected.shape and np.abs(picture.astype(int) - expected).max() <= 1
    video = stylizer.video(temporal=False, parallel=True)
    assert video.parallel == streams and video.stylizer.backend is stylizer.backend
    assert stylizer.video(temporal=False).parallel == 1 and stylizer.video(parallel=True).parallel == 1  # filtered
    with ThreadPoolExecutor(video.parallel) as pool:
        pictures = list(pool.map(lambda f: np.asarray(video.stylize(Image.fromarray(f))), frames))
    assert all(np.abs(a.astype(int) - b).max() <= 1 for a, b in zip(pictures, alone))
