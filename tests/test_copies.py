import pytest
from conftest import copy_of

from fst.copies import fast_sibling
from fst.errors import FstError


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
