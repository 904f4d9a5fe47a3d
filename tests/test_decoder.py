"""The arbitrary-style network: the decoder's shapes, the whole pass on any size."""

import pytest
import torch

from fst.arbitrary import painting_statistics
from fst.decoder import ArbitraryStyleNet, Decoder
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
