"""The styles a network of several holds (fst.transformer), and the weights that pick or blend them.

A blend mixes the styles' instance-norm scales and shifts, not their pictures: `starry_night=0.7,wave=0.3` is one
pass of the network, as fast as one style. Weights are scaled to sum to 1 (the blends a network was trained to
span lie between its styles); a style left out has weight 0. The network is fed each weight through presence():
what is asked is how much of each style the picture shows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from fst.errors import FstError, UsageError
from fst.onnxfile import onnx_metadata


def style_names(path: str | Path) -> list[str]:
    """The names of the styles a model holds, in the order of its `style` input; [] for a network of one style."""
    return model_styles(path)[0]


def model_styles(path: str | Path) -> tuple[list[str], list[str]]:
    """The names of the styles a model holds and their style images' file names, in the order of its `style`
    input; ([], []) for a network of one style. From an export's metadata, or a checkpoint's."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return metadata_styles(onnx_metadata(path), path)
    from fst.checkpoint import load_checkpoint

    return checkpoint_styles(load_checkpoint(path))


def metadata_styles(props: dict[str, str], path: str | Path = "this model") -> tuple[list[str], list[str]]:
    """model_styles from an export's metadata_props (JSON lists), for a caller that has already read them; a value
    that is not a JSON list of names is a one-line FstError naming `path`."""
    lists = []
    for key in ("styles", "style_images"):
        try:
            value = json.loads(props[key]) if key in props else []
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise FstError(f"{path}: its metadata {key} is {props[key][:60]!r}: expected a JSON list of names")
        lists.append(value)
    return lists[0], lists[1]


def checkpoint_styles(state: dict) -> tuple[list[str], list[str]]:
    """model_styles from a loaded checkpoint."""
    styles = state.get("styles") or state["config"].get("styles") or []  # a training run's, or a distillation's
    images = state.get("style_images") or state["config"].get("style_images") or []
    if isinstance(styles, dict):  # a run's config: name -> image
        styles, images = list(styles), [Path(image).name for image in styles.values()]
    return list(styles), list(images)


def parse_style(text: str) -> dict[str, float]:
    """`starry_night=0.7,wave=0.3` (or `wave`: that style alone) as {name: weight}, scaled so that the largest is 1
    (a style named twice gets the sum of its weights)."""
    pairs: list[tuple[str, float]] = []
    for item in text.split(","):
        name, _, value = item.strip().partition("=")
        try:
            weight = float(value) if value else 1.0
        except ValueError:
            weight = math.nan
        if not name or not 0 <= weight < math.inf:
            raise UsageError(f"--style {text}: expected NAME or NAME=WEIGHT,... with weights >= 0, as in "
                             "starry_night=0.7,wave=0.3")  # fmt: skip
        pairs.append((name, weight))
    return summed(pairs)


def summed(pairs: list[tuple[str, float]]) -> dict[str, float]:
    """The weights of each name added up, all divided by the largest first, so that no sum overflows (1e308
    twice is 2e308, past the largest float: inf, which would turn the picture black)."""
    largest = max(weight for _, weight in pairs)
    weights: dict[str, float] = {}
    for name, weight in pairs:
        weights[name] = weights.get(name, 0.0) + (weight / largest if largest > 0 else 0.0)
    return weights


def checked_weights(asked: object) -> dict[str, float]:
    """A blend given to the library as {name: weight}: the same checks as parse_style's, as one-line errors."""
    expected = "expected a style name, NAME=WEIGHT,... or {name: weight} with numbers >= 0"
    if not isinstance(asked, dict) or not asked:
        raise UsageError(f"style {asked!r}: {expected}")
    for name, weight in asked.items():
        number = isinstance(weight, (int, float, np.floating, np.integer)) and not isinstance(weight, bool)
        if not isinstance(name, str) or not number or not 0 <= weight < math.inf:
            raise UsageError(f"style {asked!r}: {name!r}: {weight!r} is not a weight; {expected}")
    return summed([(name, float(weight)) for name, weight in asked.items()])


def style_weights(names: list[str], asked: str | dict[str, float] | None, model: str | Path) -> np.ndarray | None:
    """The weight of each of `names` (the model's styles) for `asked` (a name, a parse_style text or dict), summing
    to 1; the first style alone when nothing is asked. None for a model of one style, which takes no weights."""
    if not names:
        if asked is not None:
            raise FstError(f"{model} holds one style: a blend needs a model of several (its metadata lists them)")
        return None
    if asked is None:
        asked = {names[0]: 1.0}
    asked = parse_style(asked) if isinstance(asked, str) else checked_weights(asked)
    unknown = [name for name in asked if name not in names]
    if unknown:
        raise FstError(f"{model} holds no style {unknown[0]!r}; it holds {', '.join(names)}")
    total = sum(asked.values())
    if not total > 0:
        raise FstError(f"style weights {asked}: at least one must be above 0")
    return presence(np.array([asked.get(name, 0.0) / total for name in names], dtype=np.float64))


def presence(asked: np.ndarray) -> np.ndarray:
    """The network's weights (float32, summing to 1) that give each style the share of the picture asked for.

    A style's share of a blend's picture, measured as the way its VGG16 features (relu3_3, relu4_3) go from one
    style's picture to the other's, follows smoothstep 3w^2 - 2w^3 of its weight w in the network (bench/blend.py):
    a weight of 0.3 showed 0.21 of it, 0.1 showed 0.04, so small weights barely showed. Each weight goes through
    smoothstep's inverse, 1/2 - sin(asin(1 - 2u) / 3), and the weights are scaled to sum to 1 again (for two
    styles they already do): 0.3 asked feeds 0.36. web/app.js does the same."""
    inverse = 0.5 - np.sin(np.arcsin(1 - 2 * np.clip(asked, 0, 1)) / 3)
    weights = np.where(asked <= 0, 0.0, np.where(asked >= 1, 1.0, inverse))  # exact at the ends
    return (weights / weights.sum()).astype(np.float32)
