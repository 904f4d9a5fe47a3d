"""The arbitrary-style network: the decoder's shapes, the whole pass on any size, and its verified ONNX export."""

import numpy as np
import pytest
import torch

from fst.arbitrary import painting_statistics
from fst.backends import onnx_session
from fst.decoder import ArbitraryStyleNet, Decoder, export_arbitrary
from fst.onnxfile import onnx_metadata
from fst.vgg import load_vgg16


@pytest.mark.parametrize(("layer", "channels", "multiple", "convs"),
                         [("relu4_1", 512, 8, 11), ("relu3_1", 256, 4, 8), ("relu2_1", 128, 2, 5)])  # fmt: skip
def test_the_decoder_has_a_block_per_level_each_giving_the_level_below(layer, channels, multiple, convs):
    decoder = Decoder(layer, width=8)
    features = torch.rand(1, channels, 6, 5)
    assert decoder(features).shape == (1, 3, 6 * multiple, 5 * multiple)
    assert decoder.side_multiple == multiple
    assert sum(isinstance(m, torch.nn.Conv2d) for m in decoder.modules()) == convs
    vgg = load_vgg16("bundled", layer)
    image = torch.rand(1, 3, 16, 24)
    real = vgg(image, decoder.levels)
    for shallow, deep in zip(decoder.levels, decoder.levels[1:]):
        assert decoder.blocks[deep](real[deep]).shape == real[shallow].shape
    with pytest.raises(ValueError, match="encoder layer 'relu5_1': expected one of relu4_1, relu3_1, relu2_1, relu1_1"):
        Decoder("relu5_1")


def statistics_of(net: ArbitraryStyleNet, painting: torch.Tensor) -> list[torch.Tensor]:
    features = net.features(painting)
    pairs = [painting_statistics(features[level][0].detach().numpy()) for level in net.levels]
    return [torch.from_numpy(array) for pair in pairs for array in pair]


def test_any_size_comes_back_at_its_size_in_the_unit_range():
    torch.manual_seed(0)
    net = ArbitraryStyleNet(load_vgg16("bundled", "relu4_1"), Decoder("relu4_1", 8)).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 37, 45), *statistics_of(net, torch.rand(1, 3, 64, 64)), torch.ones(1))
    assert out.shape == (2, 3, 37, 45) and float(out.min()) >= 0 and float(out.max()) <= 1


def test_strength_0_is_the_decoder_alone():
    torch.manual_seed(0)
    net = ArbitraryStyleNet(load_vgg16("bundled", "relu2_1"), Decoder("relu2_1", 8), ("relu2_1", "relu1_1")).eval()
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        out = net(image, *statistics_of(net, torch.rand(1, 3, 64, 64)), torch.zeros(1))
        alone = net.decoder(net.encoder(image, ("relu2_1",))["relu2_1"]).clamp(0, 1)
    assert torch.allclose(out, alone, atol=1e-6)


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
            [f"features_{level}", f"painting_mean_{level}", f"painting_colouring_{level}"], feeds)
        expected_mean, expected_colouring = painting_statistics(features[0])
        assert np.allclose(mean, expected_mean, atol=1e-5)
        error = np.linalg.norm(colouring - expected_colouring) / np.linalg.norm(expected_colouring)
        assert error < 0.01, (level, error)  # the ridge and float32 iterations
