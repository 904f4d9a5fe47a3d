"""Any painting without PyTorch: its statistics, the model with them built in, the cache, and Stylizer/infer.py."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import DEMO_PHOTOS, REPO, STARRY_NIGHT
from PIL import Image

import fst.arbitrary
from fst.arbitrary import (
    load_painting,
    model_to_run,
    painting_features,
    painting_model,
    painting_statistics,
    private_temp,
    texture,
)
from fst.errors import FstError
from fst.onnxfile import onnx_metadata
from fst.onnxrun import onnx_session
from fst.stylize import Stylizer

WAVE = REPO / "data" / "styles" / "wave.jpg"
SHIPPED = REPO / "exports" / "arbitrary.onnx"


def test_painting_statistics_are_its_mean_and_the_square_root_of_its_covariance():
    features = np.random.default_rng(0).normal(size=(6, 10, 12)) * np.arange(1, 7)[:, None, None]
    mean, colouring = painting_statistics(features)
    flat = features.reshape(6, -1)
    covariance = np.cov(flat, bias=True)
    assert np.allclose(mean, flat.mean(1), atol=1e-6)
    assert np.allclose(colouring, colouring.T) and np.allclose(colouring @ colouring, covariance, rtol=1e-4, atol=1e-4)


def test_the_painting_model_runs_as_the_arbitrary_model_fed_its_statistics(arbitrary_model):
    path = painting_model(arbitrary_model, STARRY_NIGHT, strength=0.6)
    session = onnx_session(path)
    assert [i.name for i in session.get_inputs()] == ["image"] and [o.name for o in session.get_outputs()] == ["stylized"]
    assert onnx_metadata(path)["kind"] == "painting" and onnx_metadata(path)["style"] == "starry_night"
    arbitrary = onnx_session(arbitrary_model)
    features = painting_features(arbitrary, load_painting(STARRY_NIGHT))
    assert {level: f.shape[0] for level, f in features.items()} == {"relu2_1": 128}
    feeds = {"strength": np.array([0.6], np.float32)}
    for level, level_features in features.items():
        feeds[f"mean_{level}"], feeds[f"colouring_{level}"] = painting_statistics(level_features)
    image = np.random.default_rng(1).random((1, 3, 40, 52), dtype=np.float32)
    expected = arbitrary.run(["stylized"], {"image": image, **feeds})[0]
    assert np.allclose(session.run(None, {"image": image})[0], expected, atol=1e-5)


def test_painting_models_are_cached_by_contents_and_the_newest_kept(arbitrary_model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(fst.arbitrary, "KEPT", 2)
    first = painting_model(arbitrary_model, STARRY_NIGHT)
    made = first.stat().st_mtime_ns
    assert painting_model(arbitrary_model, STARRY_NIGHT) == first and first.parent == tmp_path / "fst" / "paintings"
    copy = tmp_path / "starry_night.jpg"
    copy.write_bytes(STARRY_NIGHT.read_bytes())
    assert painting_model(arbitrary_model, copy) == first  # the same bytes: the same model
    assert first.stat().st_mtime_ns >= made
    other = painting_model(arbitrary_model, STARRY_NIGHT, strength=0.5)
    assert other != first
    painting_model(arbitrary_model, WAVE)
    assert sorted(p.name.split("-")[0] for p in first.parent.glob("*.onnx")) == ["starry_night", "wave"]


def test_one_line_errors_for_the_wrong_model_or_painting(arbitrary_model, models, tmp_path):
    with pytest.raises(FstError, match="stylizes with any painting: give one"):
        Stylizer(arbitrary_model)
    with pytest.raises(FstError, match="is the network of its own style.*needs the arbitrary-style model"):
        model_to_run(models[1], STARRY_NIGHT, 1.0)
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(FstError, match="cannot read the painting .*notes.txt"):
        painting_model(arbitrary_model, tmp_path / "notes.txt")
    Image.new("RGB", (400, 6)).save(tmp_path / "strip.png")
    with pytest.raises(FstError, match="strip.png is 400x6: too narrow"):
        painting_model(arbitrary_model, tmp_path / "strip.png")


def test_flat_photos_and_paintings_give_pictures_not_nan(arbitrary_model, tmp_path):
    """Stylizer refuses NaN (FstError), so a picture coming back is the check (VGG16's zero padding makes a flat
    picture's features vary at the border only: a near-singular covariance, the case the ridge is for)."""
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "flat.png")
    flat_painting = np.asarray(Stylizer(arbitrary_model, painting=tmp_path / "flat.png").stylize(DEMO_PHOTOS / "chelsea.jpg"))
    assert flat_painting.shape == (300, 451, 3)
    flat_photo = np.asarray(Stylizer(arbitrary_model, painting=STARRY_NIGHT).stylize(tmp_path / "flat.png"))
    assert flat_photo.shape == (64, 64, 3)


def test_strength_blends_features_inside_the_model_not_pixels(arbitrary_model):
    photo = Image.open(DEMO_PHOTOS / "chelsea.jpg").convert("RGB").resize((96, 64))
    half = Stylizer(arbitrary_model, painting=STARRY_NIGHT, strength=0.5)
    assert half.options.strength == 1.0 and onnx_metadata(half.path)["strength"] == "0.5"
    full = np.asarray(Stylizer(arbitrary_model, painting=STARRY_NIGHT).stylize(photo), np.float32)
    none = np.asarray(Stylizer(arbitrary_model, painting=STARRY_NIGHT, strength=0.0).stylize(photo), np.float32)
    middle = np.asarray(half.stylize(photo), np.float32)
    assert not np.allclose(middle, (full + none) / 2, atol=2)  # a pixel blend would be the mean of the two


def test_infer_takes_a_painting(arbitrary_model, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    base = [sys.executable, str(REPO / "infer.py"), "--model", str(arbitrary_model), "--painting", str(WAVE)]
    done = subprocess.run(base + ["--input", str(DEMO_PHOTOS / "chelsea.jpg"), "--output", str(tmp_path / "o.png")],
                          capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "o.png").size == Image.open(DEMO_PHOTOS / "chelsea.jpg").size
    refused = subprocess.run(base + ["--tile", "256", "--input", "x.jpg", "--output", str(tmp_path / "p.png")],
                             capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr == "error: --tile does not go with --painting: the painting is the style, and its model runs whole\n"


def test_odd_paintings_are_read_as_any_image_is(arbitrary_model, tmp_path):
    """One pixel, CMYK, an animation (its first frame), a folder: a picture or one line, never a traceback."""
    Image.new("RGB", (1, 1), (200, 10, 10)).save(tmp_path / "one.png")
    Image.new("CMYK", (60, 40), (10, 200, 30, 0)).save(tmp_path / "cmyk.jpg")
    wave = Image.open(WAVE).convert("RGB").resize((64, 44))
    wave.save(tmp_path / "anim.gif", save_all=True, append_images=[wave.rotate(90)])
    photo = Image.open(DEMO_PHOTOS / "coffee.jpg").convert("RGB").resize((48, 32))
    for name in ("one.png", "cmyk.jpg", "anim.gif"):
        assert Stylizer(arbitrary_model, painting=tmp_path / name).stylize(photo).size == (48, 32), name
    with pytest.raises(FstError, match=f"cannot read the painting {tmp_path} \\(Is a directory\\)"):
        Stylizer(arbitrary_model, painting=tmp_path)


def test_texture_is_the_variance_over_the_squared_mean_inside_the_border():
    features = np.full((2, 4, 4), 100.0, np.float32)  # the border: never counted
    features[0, 1:3, 1:3] = [[1, 3], [1, 3]]  # mean 2, variance 1
    features[1, 1:3, 1:3] = 2  # mean 2, variance 0
    assert texture(features) == pytest.approx(1 / 8)
    assert texture(features * 5) == pytest.approx(1 / 8)  # a darker or fainter painting: the same


def test_a_painting_without_texture_is_refused_not_painted_as_a_blur(tmp_path, monkeypatch):
    """The shipped model: a flat colour and a smooth gradient would paint a blur of their colour over the photo
    (no trace of it left); wave at a fifth of its contrast is still a painting."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    Image.new("RGB", (300, 200), (30, 90, 200)).save(tmp_path / "flat.png")
    ramp = np.tile(np.linspace(0, 255, 300)[None, :, None], (200, 1, 3)).astype(np.uint8)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    for name in ("flat.png", "ramp.png"):
        with pytest.raises(FstError, match=f"^the painting {tmp_path}/{name} has almost no texture at 512 pixels"):
            painting_model(SHIPPED, tmp_path / name)
    faint = np.asarray(Image.open(WAVE).convert("RGB"), np.float32) * 0.2 + 100
    Image.fromarray(faint.astype(np.uint8)).save(tmp_path / "faint.png")
    assert painting_model(SHIPPED, tmp_path / "faint.png").is_file()
    with pytest.raises(FstError, match="^painting '': expected a painting's image file$"):
        painting_model(SHIPPED, "")


def test_the_temp_folder_for_paintings_is_this_users_alone(tmp_path, monkeypatch):
    """Where the home cache cannot be written: a folder of the user's own, never one that others can write into
    (they could plant a model to run under a painting's name)."""
    monkeypatch.setattr(fst.arbitrary.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = private_temp()
    assert folder == tmp_path / f"fst-paintings-{os.getuid()}" and folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o777)
    assert private_temp() is None
    folder.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    folder.symlink_to(tmp_path / "elsewhere")
    assert private_temp() is None
