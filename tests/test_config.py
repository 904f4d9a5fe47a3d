import re
import subprocess
import sys

import pytest
import yaml
from conftest import DEMO_PHOTOS, REPO, STARRY_NIGHT
from PIL import Image

from fst.config import config_from_dict, load_config
from fst.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


BASE = f"name: t\nstyle_image: {STARRY_NIGHT}\ndata: {{root: {DEMO_PHOTOS}}}\n"


def test_defaults_and_types(tmp_path):
    config = load_config(write(tmp_path, BASE + "train: {steps: 7, lr: 1}\n"))
    assert config.train.steps == 7
    assert config.train.lr == 1.0 and isinstance(config.train.lr, float)
    assert config.data.image_size == 256 and config.model.width == 32 and config.model.res_blocks == 5
    assert config.loss.content_layer == "relu2_2"
    assert list(config.loss.style_layers) == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    assert (config.loss.style_weight, config.loss.tv_weight) == (5.0, 1.0)  # docs/benchmarks.md, Loss calibration
    assert (config.train.precision, config.train.compile, config.train.init) == ("auto", "auto", "")
    assert (config.train.warmup_steps, config.train.lr_schedule) == (200, "cosine")


def test_compile_takes_true_false_or_auto(tmp_path):
    for value, expected in (("true", True), ("false", False), ("auto", "auto")):
        assert load_config(write(tmp_path, BASE), [f"train.compile={value}"]).train.compile == expected


def test_overrides_are_typed(tmp_path):
    config = load_config(
        write(tmp_path, BASE),
        ["train.steps=12", "loss.style_weight=2.5", "loss.style_layers.relu3_3=0", "train.device=cpu"],
    )
    assert config.train.steps == 12
    assert config.loss.style_weight == 2.5
    assert config.loss.style_layers["relu3_3"] == 0.0 and config.loss.style_layers["relu1_2"] == 1.0
    assert config.train.device == "cpu"


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        (BASE + "train: {stepz: 3}\n", [],
         "c.yaml: unknown key 'train.stepz'; valid keys in 'train': steps, lr, seed, device, log_every, "
         "sample_every, checkpoint_every, keep_last, warmup_steps, lr_schedule, init, precision, compile"),
        (BASE + "colour: red\n", [],
         "c.yaml: unknown key 'colour'; valid keys in the top level: name, style_image, styles, data, model, loss, "
         "train, output, distill"),
        (BASE + "train: {steps: many}\n", [], "c.yaml: train.steps = 'many': expected an integer >= 1"),
        (BASE + "train: {steps: 0}\n", [], "c.yaml: train.steps = 0: expected an integer >= 1"),
        (BASE + "train: {steps: 2.5}\n", [], "c.yaml: train.steps = 2.5: expected an integer >= 1"),
        (BASE + "train: {lr: 0}\n", [], "c.yaml: train.lr = 0: expected a number > 0.0"),
        (BASE + "train: {lr: .nan}\n", [], "c.yaml: train.lr = nan: expected a finite number > 0.0"),
        (BASE + "data: 5\n", [], "c.yaml: data = 5: expected a mapping of keys"),
        (BASE + "loss: {content_layer: relu9_9}\n", [],
         "c.yaml: loss.content_layer = 'relu9_9': expected one of relu1_1, relu1_2, relu2_1, relu2_2, relu3_1, "
         "relu3_2, relu3_3, relu4_1, relu4_2, relu4_3 (the bundled weights stop at relu4_3)"),
        (BASE + "loss: {style_layers: {relu5_1: 1}}\n", [],
         "c.yaml: loss.style_layers.relu5_1: unknown layer; expected one of relu1_1, relu1_2, relu2_1, relu2_2, "
         "relu3_1, relu3_2, relu3_3, relu4_1, relu4_2, relu4_3 (the bundled weights stop at relu4_3)"),
        (BASE + "loss: {style_layers: {relu1_2: -1}}\n", [], "c.yaml: loss.style_layers.relu1_2 = -1: expected a finite number >= 0"),
        (BASE, ["loss.content_edges=1.5"], "--set loss.content_edges=1.5: loss.content_edges = 1.5: expected a number from 0.0 to 1.0"),
        (BASE + "train: {compile: yes please}\n", [], "c.yaml: train.compile = 'yes please': expected true, false or auto"),
        (BASE + "train: {precision: fp8}\n", [], "c.yaml: train.precision = 'fp8': expected one of auto, fp32, bf16, fp16"),
        (BASE + "model: {architecture: mobile}\n", [], "c.yaml: model.architecture = 'mobile': expected one of johnson, realtime, decoder"),
        (BASE + "train: {lr_schedule: step}\n", [], "c.yaml: train.lr_schedule = 'step': expected one of cosine, constant"),
        (BASE + "train: {device: gpu}\n", [], "c.yaml: train.device = 'gpu': expected auto, cpu, cuda, cuda:N or mps"),
        (BASE, ["train.steps=-3"], "--set train.steps=-3: train.steps = -3: expected an integer >= 1"),
        (BASE, ["data.image_size=100000"], "--set data.image_size=100000: data.image_size = 100000: expected an integer from 16 to 4096"),
        (BASE, ["data.batch_size=100000"], "--set data.batch_size=100000: data.batch_size = 100000: expected an integer from 1 to 256"),
        (BASE, ["model.width=0"], "--set model.width=0: model.width = 0: expected an integer from 1 to 512"),
        (BASE, ["train.stepz=3"], "--set train.stepz=3: unknown key 'train.stepz'; valid keys in 'train': steps, lr, "
         "seed, device, log_every, sample_every, checkpoint_every, keep_last, warmup_steps, lr_schedule, init, precision, "
         "compile"),
        (BASE, ["trainsteps"], "--set trainsteps: expected key.sub=value, e.g. --set train.steps=1000"),
        ("name: t\ndata: {root: x}\n", [], "c.yaml: missing required key 'style_image' (or styles, for several)"),
        (BASE, ["style_image=nope/starry.jpg"], "c.yaml: style_image: file not found: nope/starry.jpg"),
        (BASE, ["data.root=nope/photos"], "c.yaml: data.root: folder not found: nope/photos"),
        ("- a\n- b\n", [], "c.yaml: expected a mapping of config keys at the top level, got list"),
    ],
)  # fmt: skip
def test_errors_name_key_value_and_expectation(tmp_path, text, overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), overrides)
    assert str(info.value) == message.replace("c.yaml", str(tmp_path / "c.yaml"), 1)


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"c.yaml: line 2 is not valid YAML"):
        load_config(write(tmp_path, "name: t\nfoo: bar: baz\n"))


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*missing.yaml"):
        load_config(tmp_path / "missing.yaml")


def test_shipped_configs_are_valid():
    paths = sorted((REPO / "configs").rglob("*.yaml"))
    assert REPO / "configs" / "pretrained" / "udnie.yaml" in paths
    for path in paths:
        load_config(path, check_paths=False)


def test_init_is_taken_as_written_its_model_found_by_the_catalogue(tmp_path):
    base = write(tmp_path, BASE)
    assert load_config(base, ["train.init=mosaic"]).train.init == "mosaic"  # fst.catalogue.init_model finds it


def test_cli_prints_one_line_and_exits_2(tmp_path):
    path = write(tmp_path, BASE + "model: {widht: 16}\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "--config", str(path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr == (f"error: {path}: unknown key 'model.widht'; valid keys in 'model': width, res_blocks, architecture, encoder_layer\n")
    assert result.stdout == ""


def test_resolved_config_round_trips(tmp_path):
    from fst.config import config_from_dict, save_config

    config = load_config(write(tmp_path, BASE), ["train.steps=5"])
    save_config(config, tmp_path / "resolved.yaml")
    again = config_from_dict(yaml.safe_load((tmp_path / "resolved.yaml").read_text()))
    assert again == config


def test_a_folder_or_binary_file_as_config_is_one_line_exit_2(tmp_path):
    binary = tmp_path / "model.pt"
    binary.write_bytes(b"\x80\x02\xff\xfe\x00binary")
    expectations = ((tmp_path, "a folder, expected a YAML file"), (binary, "not a text file, expected a YAML file"))
    for path, expected in expectations:
        result = subprocess.run(
            [sys.executable, str(REPO / "train.py"), "--config", str(path)], capture_output=True, text=True
        )
        assert (result.returncode, result.stderr) == (2, f"error: --config {path}: {expected}\n")


def test_scientific_notation_is_a_number(tmp_path):
    """YAML 1.1 reads 1e-4 (no dot) as a string; people write learning rates that way."""
    config = load_config(write(tmp_path, BASE + "train: {lr: 1e-4}\nloss: {style_weight: 2E1}\n"))
    assert config.train.lr == 0.0001 and config.loss.style_weight == 20.0
    assert load_config(write(tmp_path, BASE), ["train.lr=3e-4"]).train.lr == 0.0003
    with pytest.raises(ConfigError, match="train.lr = 'le-4': expected a finite number > 0.0"):
        load_config(write(tmp_path, BASE), ["train.lr=le-4"])


def test_data_and_weights_problems_exit_2_naming_the_config(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=rf"c.yaml: data.root: no images under {empty} \(looked for"):
        load_config(write(tmp_path, BASE), [f"data.root={empty}"])
    with pytest.raises(ConfigError, match="c.yaml: loss.vgg_weights: file not found: nowhere.pth"):
        load_config(write(tmp_path, BASE), ["loss.vgg_weights=nowhere.pth"])


@pytest.mark.parametrize("name", ["..", ".", "/tmp/elsewhere", "a/b", "a\\b", ".hidden", "-x", "x" * 101, "a b"])
def test_a_name_that_is_not_one_plain_folder_name_is_refused(tmp_path, name):
    """`name` becomes <runs_dir>/<name>, which --restart deletes: `..` would be the parent of runs_dir."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, BASE), [f"name={name}"])
    assert str(info.value).startswith(f"{tmp_path / 'c.yaml'}: name = {name!r}: expected a plain name of up to 100")


def test_plain_names_are_accepted(tmp_path):
    for name in ("starry_night", "wave-2", "v1.5", "A" * 100):
        assert load_config(write(tmp_path, BASE), [f"name={name}"]).name == name


@pytest.mark.parametrize(
    "styles, message",
    [
        ({"a": "s.jpg"}, "styles = {'a': 's.jpg'}: expected a mapping of two or more style names to style images"),
        ("s.jpg", "styles = 's.jpg': expected a mapping of two or more"),
        ({"a b": "s.jpg", "c": "s.jpg"}, "styles.a b: expected a plain style name"),
        ({"a": "", "c": "s.jpg"}, "styles.a = '': expected the path of a style image"),
        ({"a": "s.jpg", "c": "missing.jpg"}, "styles.c: file not found: missing.jpg"),
    ],
)
def test_several_styles_are_named_images_in_place_of_style_image(styles, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.jpg").write_bytes(b"")
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "photos" / "p.png")
    raw = {"name": "t", "styles": styles, "data": {"root": "photos"}}
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict(raw)
    ok = config_from_dict({**raw, "styles": {"a": "s.jpg", "b": "s.jpg"}})
    assert ok.styles == {"a": "s.jpg", "b": "s.jpg"} and ok.style_image == ""
    message = "loss.style_weight_by_style.c: no style of that name under styles (a, b)"
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict({**raw, "styles": {"a": "s.jpg", "b": "s.jpg"}, "loss": {"style_weight_by_style": {"c": 2}}})
    with pytest.raises(ConfigError, match="style_image and styles: give one style image, or several"):
        config_from_dict({**raw, "styles": {"a": "s.jpg", "b": "s.jpg"}, "style_image": "s.jpg"})


def test_a_decoder_learns_from_photos_alone(tmp_path):
    """A decoder config needs no style image and refuses one; its layers and weights are checked like the rest."""
    decoder = f"name: d\ndata: {{root: {DEMO_PHOTOS}}}\nmodel: {{architecture: decoder}}\n"
    config = load_config(write(tmp_path, decoder))
    assert (config.model.encoder_layer, config.loss.pixel_weight) == ("relu4_1", 1.0)
    assert config.loss.feature_layers == {"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0, "relu4_1": 1.0}
    cases = [
        (BASE + "model: {architecture: decoder}\n", "learns from photos alone: remove style_image and styles"),
        (decoder + "loss: {feature_layers: {relu9_1: 1}}\n", "loss.feature_layers.relu9_1: unknown layer"),
        (decoder.replace("decoder}", "decoder, encoder_layer: relu5_1}"),
         "model.encoder_layer = 'relu5_1': expected one of relu4_1, relu3_1, relu2_1"),
        (decoder + "loss: {pixel_weight: 0, feature_layers: {}}\n", "a decoder needs one weight > 0"),
        (decoder + "data: {root: " + str(DEMO_PHOTOS) + ", max_scale: 0.5}\n", "data.max_scale = 0.5: expected a number"),
    ]
    for text, message in cases:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(write(tmp_path, text))
    overridden = load_config(write(tmp_path, decoder), ["loss.feature_layers.relu1_1=0.5"])
    assert overridden.loss.feature_layers["relu1_1"] == 0.5 and overridden.loss.feature_layers["relu4_1"] == 1.0


def test_a_distillation_names_its_teachers_and_needs_no_style_image(tmp_path):
    text = f"name: fast\ndata: {{root: {DEMO_PHOTOS}}}\ndistill: {{teachers: [a.onnx, b.pt]}}\n"
    config = load_config(write(tmp_path, text))
    assert config.distill.teachers == ["a.onnx", "b.pt"] and config.style_image == ""
    with pytest.raises(ConfigError, match="distill.teachers = 'a.onnx': expected a list of model files"):
        load_config(write(tmp_path, text.replace("[a.onnx, b.pt]", "a.onnx")))
