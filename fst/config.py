"""YAML configs as typed dataclasses, with `--set key.sub=value` overrides and validation up front.

Every check runs before any work starts, so a typo in a config costs a second, not a training run.
Relative paths in a config are taken from the current directory, like any command-line path.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fst.architectures import ARCHITECTURES, BUNDLED_VGG_LAYERS, ENCODER_LAYERS, VGG_LAYERS
from fst.devices import DEVICE_NAMES, is_device_name
from fst.errors import ConfigError, FstError
from fst.fields import NAME_PATTERN, fill, get_dotted
from fst.files import atomic_write
from fst.photos import find_images, split_holdout


@dataclass
class DataConfig:
    root: str = ""
    # Upper bounds well past any real use, so that a typo is an error before minutes of work, not an
    # out-of-memory kill after them: a batch of 256 crops of 4096 px is 50 GB before the network sees it.
    image_size: int = field(default=256, metadata={"min": 16, "max": 4096})
    batch_size: int = field(default=4, metadata={"min": 1, "max": 256})
    workers: int = field(default=4, metadata={"min": 0})
    holdout: int = field(default=0, metadata={"min": 0})
    # Crops from photos resized to a random short side from image_size to max_scale * image_size: 1 keeps the
    # whole photo's view (style networks, whose strokes have one scale); more teaches finer detail too.
    max_scale: float = field(default=1.0, metadata={"min": 1.0, "max": 8.0})


@dataclass
class ModelConfig:
    width: int = field(default=32, metadata={"min": 1, "max": 512})
    res_blocks: int = field(default=5, metadata={"min": 0, "max": 64})
    architecture: str = "johnson"  # or "realtime": see fst.transformer; or "decoder": fst.decoder
    encoder_layer: str = "relu4_1"  # decoders only: the VGG16 layer they decode from


@dataclass
class LossConfig:
    vgg_weights: str = "bundled"
    content_layer: str = "relu2_2"
    content_weight: float = field(default=1.0, metadata={"min": 0.0})
    # The share of the content term placed along the photo's edges, the rest spread evenly (fst.losses.edge_weights):
    # 0 the classic uniform term; more keeps outlines and faces while flat regions take the style.
    content_edges: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})
    style_layers: dict[str, float] = field(
        default_factory=lambda: {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0}
    )
    style_weight: float = field(default=5.0, metadata={"min": 0.0})
    # Several styles in one network: a style_weight of their own for some of them, by name (the others: style_weight).
    style_weight_by_style: dict[str, float] = field(default_factory=dict)
    tv_weight: float = field(default=1.0, metadata={"min": 0.0})
    temporal_weight: float = field(default=0.0, metadata={"min": 0.0})  # see fst.losses: stable under motion
    style_size: int = field(default=512, metadata={"min": 16, "max": 4096})
    # Decoders only (fst.objectives.ReconstructionObjective): weight of the mean squared pixel error, and the
    # relative feature errors at these VGG16 layers, by weight.
    pixel_weight: float = field(default=1.0, metadata={"min": 0.0})
    feature_layers: dict[str, float] = field(
        default_factory=lambda: {"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0, "relu4_1": 1.0}
    )


@dataclass
class TrainConfig:
    steps: int = field(default=40000, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"min": 0.0, "exclusive": True})
    seed: int = field(default=0, metadata={"min": 0})
    device: str = "auto"
    log_every: int = field(default=50, metadata={"min": 1})
    sample_every: int = field(default=1000, metadata={"min": 1})
    checkpoint_every: int = field(default=2000, metadata={"min": 1})
    keep_last: int = field(default=3, metadata={"min": 1})
    warmup_steps: int = field(default=200, metadata={"min": 0})
    lr_schedule: str = "cosine"
    init: str = ""
    precision: str = "auto"
    compile: bool | str = field(default="auto", metadata={"auto": True})


@dataclass
class OutputConfig:
    runs_dir: str = "runs"
    exports_dir: str = "exports"
    run_dir: str = ""  # the run's own folder: <runs_dir>/<name> unless given


@dataclass
class DistillConfig:
    """Distillation (fst.distill): the networks whose output the student learns; none for a training run."""

    teachers: list[str] = field(default_factory=list)  # checkpoints or fp32 exports, one per style; a painting's model
    # kept in memory with the teachers' outputs: about 0.6 MB each at 256 px
    max_photos: int = field(default=2000, metadata={"min": 1})


@dataclass
class Config:
    name: str = ""
    style_image: str = ""
    # Several styles in one network (fst.transformer): style name -> style image, in place of style_image.
    styles: dict[str, str] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# What fst-distill runs when not told otherwise (fst.distill.distill_config): the realtime network the shipped fast
# variants are (width 32, 5 blocks), on a short schedule.
DISTILL_DEFAULTS = {"width": 32, "res_blocks": 5, "steps": 2000, "batch_size": 4, "image_size": 256, "lr": 2e-3,
                    "warmup_steps": 50, "holdout": 8, "max_photos": 2000, "save_every": 100, "log_every": 50, "seed": 0,
                    "architecture": "realtime", "device": "auto"}  # fmt: skip


REQUIRED = ("name", "style_image", "data.root")
TRAIN_PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LR_SCHEDULES = ("cosine", "constant")


def load_config(path: str | Path, overrides: list[str] = (), check_paths: bool = True) -> Config:
    """Read `path`, apply `key.sub=value` overrides, validate everything, return a Config."""
    import yaml  # here, not above: fst-distill takes DISTILL_DEFAULTS from this module for --help, without PyYAML

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path}: a folder, expected a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--config {path}: not a text file, expected a YAML file") from None
    except OSError as e:
        raise ConfigError(f"--config {path}: cannot read it ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', e)})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level, got {type(raw).__name__}")
    return config_from_dict(raw, overrides, source=str(path), check_paths=check_paths)


def config_from_dict(
    raw: dict[str, Any], overrides: list[str] = (), source: str = "config", check_paths: bool = True
) -> Config:
    """Build and validate a Config from a plain dict (a parsed YAML file or a checkpoint's saved config)."""
    config = Config()
    fill(config, raw, prefix="", source=source)
    for item in overrides:
        _apply_override(config, item)
    if config.style_image and config.styles:
        raise ConfigError(f"{source}: style_image and styles: give one style image, or several under styles, not both")
    decoder = config.model.architecture == "decoder"
    if decoder and (config.style_image or config.styles):
        raise ConfigError(f"{source}: model.architecture = 'decoder' learns from photos alone: remove style_image "
                          "and styles (the painting is given when stylizing)")  # fmt: skip
    taught = bool(config.distill.teachers)  # the teachers' output is the target, whatever their paintings
    for key in REQUIRED:
        if get_dotted(config, key) == "" and not (key == "style_image" and (config.styles or decoder or taught)):
            raise ConfigError(f"{source}: missing required key '{key}' (or styles, for several)")
    _check_semantics(config, source)
    if check_paths:
        check_config_paths(config, source)
    return config


def check_config_paths(config: Config, source: str = "config") -> None:
    """The style images must be files, the data root a folder and train.init a model; checked before any work."""
    images = {f"styles.{name}": image for name, image in config.styles.items()} or {"style_image": config.style_image}
    if config.model.architecture == "decoder" or config.distill.teachers:  # no painting: photos or teachers
        images = {}
    for key, image in images.items():
        if not Path(image).is_file():
            raise ConfigError(f"{source}: {key}: file not found: {image}")
    if not Path(config.data.root).is_dir():
        raise ConfigError(f"{source}: data.root: folder not found: {config.data.root}")
    try:
        split_holdout(find_images(config.data.root), config.data.holdout)
    except FstError as e:
        raise ConfigError(f"{source}: data.root: {e}") from None
    vgg = config.loss.vgg_weights
    if vgg not in ("bundled", "torchvision") and not Path(vgg).is_file():
        raise ConfigError(
            f"{source}: loss.vgg_weights: file not found: {vgg} (expected bundled, torchvision or a path)"
        )


def save_config(config: Config, path: Path) -> None:
    """Write the resolved config (defaults and overrides included) so a run can be reproduced from it alone."""
    import yaml

    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def _apply_override(config: Config, item: str) -> None:
    """`a.b=value`: the value is parsed as YAML, then typed and checked like the same key in a file."""
    import yaml

    source = f"--set {item}"
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"{source}: expected key.sub=value, e.g. --set train.steps=1000")
    try:
        value = yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        raise ConfigError(f"{source}: the value is not valid YAML") from None
    parts = key.split(".")
    if parts[:2] in (["loss", "style_layers"], ["loss", "feature_layers"]) and len(parts) == 3:
        value = {**getattr(config.loss, parts[1]), parts[2]: value}
        parts = parts[:2]
    raw: Any = value
    for part in reversed(parts):
        raw = {part: raw}
    fill(config, raw, prefix="", source=source)


def _check_semantics(config: Config, source: str) -> None:
    """Checks that involve more than one key or the set of known VGG layers."""
    if not re.fullmatch(NAME_PATTERN, config.name):
        raise ConfigError(
            f"{source}: name = {config.name!r}: expected a plain name of up to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it names the run folder <runs_dir>/<name> and the export <name>.onnx)"
        )
    loss = config.loss
    known = BUNDLED_VGG_LAYERS if loss.vgg_weights == "bundled" else VGG_LAYERS
    hint = " (the bundled weights stop at relu4_3)" if loss.vgg_weights == "bundled" else ""
    if loss.content_layer not in known:
        raise ConfigError(
            f"{source}: loss.content_layer = {loss.content_layer!r}: expected one of {', '.join(known)}{hint}"
        )
    for key, layer in [("style_layers", layer) for layer in loss.style_layers] + [
        ("feature_layers", layer) for layer in loss.feature_layers
    ]:
        if layer not in known:
            raise ConfigError(
                f"{source}: loss.{key}.{layer}: unknown layer; expected one of {', '.join(known)}{hint}"
            )
    if not any(loss.style_layers.values()) or loss.style_weight == 0:
        raise ConfigError(f"{source}: loss.style_weight and loss.style_layers: at least one style weight must be > 0")
    unknown = [name for name in loss.style_weight_by_style if name not in config.styles]
    if unknown:
        raise ConfigError(f"{source}: loss.style_weight_by_style.{unknown[0]}: no style of that name under styles "
                          f"({', '.join(config.styles) or 'none: it is for a network of several styles'})")  # fmt: skip
    if config.train.precision not in TRAIN_PRECISIONS:
        raise ConfigError(
            f"{source}: train.precision = {config.train.precision!r}: expected one of {', '.join(TRAIN_PRECISIONS)}"
        )
    if config.model.architecture not in ARCHITECTURES:
        raise ConfigError(
            f"{source}: model.architecture = {config.model.architecture!r}: expected one of {', '.join(ARCHITECTURES)}"
        )
    if config.model.encoder_layer not in ENCODER_LAYERS:
        raise ConfigError(f"{source}: model.encoder_layer = {config.model.encoder_layer!r}: expected one of "
                          f"{', '.join(ENCODER_LAYERS)}")  # fmt: skip
    if config.model.architecture == "decoder" and loss.pixel_weight == 0 and not any(loss.feature_layers.values()):
        raise ConfigError(f"{source}: loss.pixel_weight and loss.feature_layers: a decoder needs one weight > 0")
    if config.train.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(
            f"{source}: train.lr_schedule = {config.train.lr_schedule!r}: expected one of {', '.join(LR_SCHEDULES)}"
        )
    if not is_device_name(config.train.device):
        raise ConfigError(f"{source}: train.device = {config.train.device!r}: expected {DEVICE_NAMES}")
