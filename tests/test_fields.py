"""Plain YAML values into typed dataclass fields: coerced where the meaning is plain, refused in one line otherwise."""

from dataclasses import dataclass, field

import pytest

from fst.errors import ConfigError
from fst.fields import fill, get_dotted


@dataclass
class Inner:
    rate: float = field(default=0.5, metadata={"min": 0, "exclusive": True})
    layers: dict[str, float] = field(default_factory=dict)


@dataclass
class Outer:
    steps: int = field(default=10, metadata={"min": 1, "max": 100})
    compile: bool | str = field(default="auto", metadata={"auto": True})
    inner: Inner = field(default_factory=Inner)


def test_values_are_typed_and_nested_keys_filled():
    outer = Outer()
    fill(outer, {"steps": 7, "compile": False, "inner": {"rate": "1e-4", "layers": {"relu2_2": 2}}}, "", "x.yaml")
    assert (outer.steps, outer.compile, outer.inner.rate, outer.inner.layers) == (7, False, 1e-4, {"relu2_2": 2.0})
    assert get_dotted(outer, "inner.rate") == 1e-4


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"stepz": 1}, "x.yaml: unknown key 'stepz'; valid keys in the top level: steps, compile, inner"),
        ({"steps": 0}, "x.yaml: steps = 0: expected an integer from 1 to 100"),
        ({"steps": True}, "x.yaml: steps = True: expected an integer from 1 to 100"),
        ({"compile": "yes"}, "x.yaml: compile = 'yes': expected true, false or auto"),
        ({"inner": 3}, "x.yaml: inner = 3: expected a mapping of keys"),
        ({"inner": {"rate": 0}}, "x.yaml: inner.rate = 0: expected a number > 0"),
        ({"inner": {"rate": float("nan")}}, "x.yaml: inner.rate = nan: expected a finite number > 0"),
        ({"inner": {"layers": {"relu2_2": -1}}}, "x.yaml: inner.layers.relu2_2 = -1: expected a finite number >= 0"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_naming_the_file_and_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        fill(Outer(), raw, "", "x.yaml")
    assert str(caught.value) == message
