"""The arbitrary-style network's ONNX export: its inputs and outputs by name, PyTorch's numbers on sizes it was not
traced with, and the painting statistics the graph computes itself."""

import numpy as np
import torch

from fst.arbitrary import painting_statistics
from fst.decoder import Decoder
from fst.export_arbitrary import export_arbitrary
from fst.onnxfile import onnx_metadata
from fst.onnxrun import onnx_session


def test_the_export_matches_pytorch_and_says_what_it_is(arbitrary_model, tmp_path):
    meta = onnx_metadata(arbitrary_model)
    assert (meta["kind"], meta["levels"], meta["precision"]) == ("arbitrary", "relu2_1", "fp32")
    session = onnx_session(arbitrary_model)
    assert [i.name for i in session.get_inputs()] == ["image", "mean_relu2_1", "colouring_relu2_1", "strength"]
    assert [o.name for o in session.get_outputs()] == [
        "stylized", "features_relu2_1", "painting_mean_relu2_1", "painting_colouring_relu2_1"]  # fmt: skip
    image = np.random.default_rng(0).random((1, 3, 21, 34), dtype=np.float32)  # odd sides: padded inside
    feeds = {"mean_relu2_1": np.zeros(128, np.float32), "colouring_relu2_1": np.eye(128, dtype=np.float32),
             "strength": np.array([0.5], np.float32)}  # fmt: skip
    stylized, features = session.run(["stylized", "features_relu2_1"], {"image": image, **feeds})
    assert stylized.shape == (1, 3, 21, 34) and features.shape == (1, 128, 11, 17)  # of the padded image
    torch.manual_seed(0)
    both = tmp_path / "both.onnx"  # the statistics at every level: a pair of inputs for each
    assert export_arbitrary(Decoder("relu2_1", 8), "bundled", both, {}, ("relu2_1", "relu1_1")) <= 1e-3
    names = [i.name for i in onnx_session(both).get_inputs()]
    assert names == ["image", "mean_relu2_1", "colouring_relu2_1", "mean_relu1_1", "colouring_relu1_1", "strength"]


def test_the_graphs_own_painting_statistics_match_the_eigendecomposition(arbitrary_model):
    """What the browser feeds back (Newton-Schulz in the graph) against what Python computes (numpy's eigh)."""
    session = onnx_session(arbitrary_model)
    painting = np.random.default_rng(2).random((1, 3, 48, 64), dtype=np.float32) ** 2
    feeds = {"image": painting, "strength": np.zeros(1, np.float32), "mean_relu2_1": np.zeros(128, np.float32),
             "colouring_relu2_1": np.zeros((128, 128), np.float32)}  # fmt: skip
    for level in ("relu2_1",):
        features, mean, colouring = session.run(
            [f"features_{level}", f"painting_mean_{level}", f"painting_colouring_{level}"], feeds
        )
        expected_mean, expected_colouring = painting_statistics(features[0])
        assert np.allclose(mean, expected_mean, atol=1e-5)
        error = np.linalg.norm(colouring - expected_colouring) / np.linalg.norm(expected_colouring)
        assert error < 0.01, (level, error)  # the ridge and float32 iterations
