"""Typed values from plain YAML: a dataclass's fields filled from a mapping, each value checked against its type and
range (the field's metadata: min, max, exclusive, auto), with one-line errors that name the file and the dotted key.
fst.config declares the fields; this module reads values into them."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from typing import Any

from fst.errors import ConfigError

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"  # a run's or a style's name: a plain file name


def fill(obj: Any, raw: dict[str, Any], prefix: str, source: str) -> None:
    """Set the fields of dataclass `obj` (nested ones too) from a plain mapping, each value checked against its
    field's type and range (metadata min, max, exclusive, auto); ConfigError naming `source` and the dotted key."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            section = f"'{prefix[:-1]}'" if prefix else "the top level"
            raise ConfigError(f"{source}: unknown key '{dotted}'; valid keys in {section}: {', '.join(fields)}")
        if dataclasses.is_dataclass(_field_type(obj, key)):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {dotted} = {value!r}: expected a mapping of keys")
            fill(getattr(obj, key), value, prefix=f"{dotted}.", source=source)
        else:
            setattr(obj, key, _coerce(obj, fields[key], value, dotted, source))


def _field_type(obj: Any, name: str) -> Any:
    return typing.get_type_hints(type(obj))[name]


def _coerce(obj: Any, f: dataclasses.Field, value: Any, dotted: str, source: str) -> Any:
    """Check one value against its field's type and range; ints are accepted where floats are expected."""
    kind = _field_type(obj, f.name)
    bad = f"{source}: {dotted} = {value!r}: expected "
    if f.metadata.get("auto"):
        if not isinstance(value, bool) and value != "auto":
            raise ConfigError(bad + "true, false or auto")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(bad + "true or false")
        return value
    if kind is str:
        if not isinstance(value, str) or (value == "" and f.default != ""):
            raise ConfigError(bad + "a non-empty string")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(bad + f"an integer{_range_text(f)}")
        _check_range(value, f, bad + f"an integer{_range_text(f)}")
        return value
    if kind is float:
        value = _scientific(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(bad + f"a finite number{_range_text(f)}")
        _check_range(value, f, bad + f"a number{_range_text(f)}")
        return float(value)
    if kind == dict[str, str]:  # styles: name -> image
        if not isinstance(value, dict) or len(value) == 1:  # {}: none, one style_image instead
            raise ConfigError(bad + "a mapping of two or more style names to style images")
        for k, v in value.items():
            if not isinstance(k, str) or not re.fullmatch(NAME_PATTERN, k):
                raise ConfigError(f"{source}: {dotted}.{k}: expected a plain style name (letters, digits, . _ -)")
            if not isinstance(v, str) or not v:
                raise ConfigError(f"{source}: {dotted}.{k} = {v!r}: expected the path of a style image")
        return dict(value)
    if kind == list[str]:  # distill.teachers: model files
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(bad + "a list of model files")
        return list(value)
    if typing.get_origin(kind) is dict:
        if not isinstance(value, dict) or (not value and f.name == "style_layers"):
            raise ConfigError(bad + "a non-empty mapping of name to weight, e.g. {relu2_2: 1.0}")
        out = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"{source}: {dotted}.{k} = {v!r}: expected a finite number >= 0")
            out[str(k)] = float(v)
        return out
    raise AssertionError(f"unhandled config type {kind}")


def _scientific(value: Any) -> Any:
    """'1e-4' as the number it means: YAML 1.1 reads scientific notation without a dot (1e-4, 2E3) as a string."""
    if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
        return float(value)
    return value


def _range_text(f: dataclasses.Field) -> str:
    if "min" not in f.metadata:
        return ""
    if "max" in f.metadata:
        return f" from {f.metadata['min']} to {f.metadata['max']}"
    return f" {'>' if f.metadata.get('exclusive') else '>='} {f.metadata['min']}"


def _check_range(value: float, f: dataclasses.Field, message: str) -> None:
    low, high = f.metadata.get("min"), f.metadata.get("max")
    if low is not None and (value < low or (f.metadata.get("exclusive") and value == low)):
        raise ConfigError(message)
    if high is not None and value > high:
        raise ConfigError(message)


def get_dotted(obj: Any, dotted: str) -> Any:
    """The value at `a.b.c` in nested dataclasses."""
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj
