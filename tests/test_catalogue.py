from pathlib import Path

import pytest
import torch
from conftest import REPO, copy_of

from fst.catalogue import (
    ModelName,
    fast_sibling,
    find_model,
    has_fast_variant,
    init_model,
    resolve,
    stable_sibling,
    trained_stable,
)
from fst.errors import ConfigError, FstError
from fst.export import export_onnx
from fst.transformer import TransformerNet


def test_the_fast_sibling_of_each_name(models, tmp_path):
    _, onnx_path = models
    network = tmp_path / "wave.onnx"
    network.write_bytes(onnx_path.read_bytes())
    fast = copy_of(onnx_path, tmp_path / "wave-fast.onnx", made_from=network)
    assert fast_sibling(tmp_path / "wave.onnx") == fast
    assert fast_sibling(tmp_path / "wave-int8.onnx") == fast  # the int8 copy's network is wave's
    assert fast_sibling(fast) == fast
    with pytest.raises(FstError, match="fast: no .*scream-fast.onnx beside .*scream.onnx"):
        fast_sibling(tmp_path / "scream.onnx")
    with pytest.raises(FstError, match="fast: .*wave.pt is a checkpoint; the fast variant is an export"):
        fast_sibling(tmp_path / "wave.pt")


def test_the_stable_sibling_is_found_only_beside_the_network_it_was_made_from(models, tmp_path):
    _, onnx_path = models
    network = tmp_path / "wave.onnx"
    network.write_bytes(onnx_path.read_bytes())
    stable = copy_of(onnx_path, tmp_path / "wave-stable.onnx", made_from=network, temporal_weight="5")
    assert stable_sibling(network) == stable
    assert stable_sibling(tmp_path / "wave-int8.onnx") == stable  # the int8 copy's network is wave's
    assert stable_sibling(stable) is None and stable_sibling(tmp_path / "wave-fast.onnx") is None
    fast = copy_of(onnx_path, tmp_path / "wave-fast.onnx", made_from=network)
    assert stable_sibling(fast) is None  # no wave-fast-stable.onnx: wave-stable is not the fast network's
    fast_stable = copy_of(onnx_path, tmp_path / "wave-fast-stable.onnx", made_from=fast, temporal_weight="2")
    assert stable_sibling(fast) == fast_stable and stable_sibling(tmp_path / "wave-fast-int8.onnx") == fast_stable
    assert stable_sibling(fast_stable) is None and stable_sibling(network) == stable
    assert stable_sibling(tmp_path / "scream.onnx") is None and stable_sibling(tmp_path / "wave.pt") is None
    torch.manual_seed(1)
    export_onnx(TransformerNet(8, 1).eval(), tmp_path / "scream.onnx", {})  # another network
    copy_of(onnx_path, tmp_path / "scream-stable.onnx", made_from=network)  # made from wave, not from scream
    assert stable_sibling(tmp_path / "scream.onnx") is None


def test_a_network_trained_with_the_temporal_term_says_so(models, tmp_path):
    checkpoint, onnx_path = models
    assert not trained_stable(onnx_path) and not trained_stable(checkpoint)
    assert trained_stable(copy_of(onnx_path, tmp_path / "t.onnx", temporal_weight="5"))
    assert not trained_stable(copy_of(onnx_path, tmp_path / "t0.onnx", temporal_weight="0"))
    state = torch.load(checkpoint, weights_only=False)
    state["config"]["loss"]["temporal_weight"] = 2.0
    torch.save(state, tmp_path / "t.pt")
    assert trained_stable(tmp_path / "t.pt")
    assert not trained_stable(tmp_path / "missing.onnx")


def test_a_style_is_found_by_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the checkout: the shipped styles are found all the same
    assert find_model("wave") == REPO / "exports" / "wave.onnx"
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "wave.onnx").write_bytes((REPO / "exports" / "wave.onnx").read_bytes())
    assert find_model("wave") == Path("exports") / "wave.onnx"  # the user's own first
    with pytest.raises(FstError, match="model not found: mona_lisa .*a style: .*starry_night, the_scream, udnie, wave"):
        find_model("mona_lisa")
    with pytest.raises(FstError, match="model not found: nope.onnx"):
        find_model("nope.onnx")
    with pytest.raises(FstError, match="model not found: stary_night .*; did you mean starry_night\\?$"):
        find_model("stary_night")
    with pytest.raises(FstError, match="model not found: zzz .*the_scream, udnie, wave\\)$"):
        find_model("zzz")


def test_init_names_a_file_or_a_style_here_or_shipped(tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("mosaic.onnx", "candy.onnx", "candy-int8.onnx"):  # candy-int8: a CPU copy, not a style of its own
        (exports / name).write_bytes(b"")
    assert init_model("", exports) is None
    assert init_model("mosaic", exports) == exports / "mosaic.onnx"
    assert init_model("udnie", exports) == REPO / "exports" / "udnie.onnx"  # a shipped style
    assert init_model(str(exports / "candy-int8.onnx"), exports) == exports / "candy-int8.onnx"  # a file as given
    with pytest.raises(ConfigError) as info:
        init_model("rain", exports, "c.yaml")
    assert str(info.value) == (
        f"c.yaml: train.init = 'rain': expected a checkpoint, an .onnx file or a style in {exports}/ (candy, mosaic) "
        "or shipped (arbitrary, four_styles, starry_night, the_scream, udnie, wave)"
    )


@pytest.mark.parametrize(
    ("file", "style", "fast", "stable", "int8", "variant"),
    [("wave.onnx", "wave", False, False, False, "full"), ("wave-int8.onnx", "wave", False, False, True, "full"),
     ("wave-fast.onnx", "wave", True, False, False, "fast"),
     ("wave-stable-int8.onnx", "wave", False, True, True, "stable"),
     ("wave-fast-stable.onnx", "wave", True, True, False, "fast-stable"),
     ("four_styles-fast-stable-int8.onnx", "four_styles", True, True, True, "fast-stable"),
     ("a-b-c.onnx", "a-b-c", False, False, False, "full")],
)  # fmt: skip
def test_a_models_name_says_its_style_variant_and_precision_and_is_written_back_alike(
    file, style, fast, stable, int8, variant
):
    name = ModelName.parse(Path("exports") / file)
    assert (name.style, name.fast, name.stable, name.int8, name.variant) == (style, fast, stable, int8, variant)
    assert name.file == file


def test_every_copy_comes_after_what_it_is_made_from():
    copies = ModelName("wave").copies()
    assert [c.file for c in copies] == [
        "wave-int8.onnx", "wave-stable.onnx", "wave-stable-int8.onnx", "wave-fast.onnx", "wave-fast-int8.onnx",
        "wave-fast-stable.onnx", "wave-fast-stable-int8.onnx"]  # fmt: skip
    assert [c.source.file for c in copies] == ["wave.onnx", "wave.onnx", "wave-stable.onnx", "wave.onnx",
                                               "wave-fast.onnx", "wave-fast.onnx", "wave-fast-stable.onnx"]  # fmt: skip
    assert all(copies.index(c.source) < i for i, c in enumerate(copies) if c.source in copies)
    assert ModelName("wave").source is None


def test_resolve_takes_the_fast_then_the_stable_variant_and_says_why(models, tmp_path):
    _, onnx_path = models
    network = tmp_path / "wave.onnx"
    network.write_bytes(onnx_path.read_bytes())
    assert resolve(network) == (network, "") and resolve(network, video=True) == (network, "")
    fast = copy_of(onnx_path, tmp_path / "wave-fast.onnx", made_from=network)
    assert resolve(network, fast=True) == (fast, "wave-fast.onnx, the realtime network distilled from wave.onnx")
    fast_stable = copy_of(onnx_path, tmp_path / "wave-fast-stable.onnx", made_from=fast, temporal_weight="2")
    assert resolve(network, fast=True, video=True) == (fast_stable, (
        "wave-fast.onnx, the realtime network distilled from wave.onnx; wave-fast-stable.onnx, fine-tuned for video "
        "from wave-fast.onnx"))  # fmt: skip
    assert has_fast_variant(network) and not has_fast_variant(fast_stable.with_name("scream.onnx"))
    with pytest.raises(FstError, match="model not found"):
        resolve(tmp_path / "gone.onnx")
