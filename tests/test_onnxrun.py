"""Running an export: any size in, padded by reflection to the side multiple and cropped back; a static size held
to; a runtime's failure in one line; the checks on load that say what a file is not."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from fst.errors import FstError
from fst.onnxrun import check_fst_model, check_style_input, onnx_session, pad_to_multiple, run_onnx


def test_padding_reflects_the_right_and_bottom_to_multiples_of_four():
    images = np.arange(30, dtype=np.float32).reshape(1, 1, 5, 6)
    padded = pad_to_multiple(images)
    assert padded.shape == (1, 1, 8, 8)
    assert np.array_equal(padded[0, 0, :5, :6], images[0, 0])
    assert np.array_equal(padded[0, 0, 5, :6], images[0, 0, 3])  # row 5 mirrors row 3 (reflection, edge kept once)
    assert np.array_equal(padded[0, 0, :5, 6], images[0, 0, :, 4])
    assert pad_to_multiple(padded) is padded  # nothing to pad: the same array


def test_any_size_runs_as_pytorch_does_with_its_own_padding(models):
    checkpoint, onnx_path = models
    from fst.checkpoint import load_model

    network = load_model(checkpoint)[0]
    images = torch.rand(2, 3, 21, 30, generator=torch.Generator().manual_seed(0))
    got = run_onnx(onnx_session(onnx_path), images.numpy())[0]
    with torch.no_grad():
        expected = network(images).numpy()
    assert got.shape == (2, 3, 21, 30) and np.abs(got - expected).max() < 1e-4


def fake_session(shape, run=None, outputs=None):
    image = SimpleNamespace(name="image", type="tensor(float)", shape=shape)
    output = SimpleNamespace(name="stylized", type="tensor(float)", shape=outputs or shape)
    return SimpleNamespace(get_inputs=lambda: [image], get_outputs=lambda: [output], run=run)


def test_a_static_model_takes_its_one_size_and_a_failure_is_one_line():
    with pytest.raises(FstError, match="^this model was exported for 8x8 images only, not 9x9$"):
        run_onnx(fake_session([1, 3, 8, 8]), np.zeros((1, 3, 9, 9), np.float32))

    def fails(_names, _feeds):
        raise RuntimeError("Non-zero status code returned while running Conv node.\nStacktrace: ...")

    with pytest.raises(FstError) as info:
        run_onnx(fake_session(["batch", 3, "height", "width"], fails), np.zeros((1, 3, 21, 30), np.float32))
    assert str(info.value) == (
        "the model failed on a 30x21 image (Non-zero status code returned while running Conv node.)")


def test_what_is_not_an_fst_network_is_named_on_load(tmp_path):
    path = tmp_path / "m.onnx"
    check_fst_model(fake_session(["batch", 3, "height", "width"]), path)  # an fst network: no error
    not_fst = r"m.onnx is not an fst model: expected one input 'image' .*shape \[1, 1, 28, 28\]"
    with pytest.raises(FstError, match=not_fst):
        check_fst_model(fake_session([1, 1, 28, 28]), path)
    with pytest.raises(FstError, match=r"it changes the picture's size \(height 64 in, 256 out\)"):
        check_fst_model(fake_session([1, 3, 64, 64], outputs=[1, 3, 256, 256]), path)
    with pytest.raises(FstError, match="its metadata names 2 styles, but it has no input 'style'"):
        check_style_input(fake_session(["batch", 3, "height", "width"]), ["a", "b"], path)
