"""Every architecture a config may name builds, and pads as fst.backends pads: the registry and the networks agree."""

import pytest
import torch

from fst.architectures import ARCHITECTURES, ENCODER_LAYERS, SIDE_MULTIPLE, TRANSFORMER_ARCHITECTURES
from fst.decoder import Decoder
from fst.transformer import TransformerNet


@pytest.mark.parametrize("architecture", TRANSFORMER_ARCHITECTURES)
def test_each_transformer_architecture_keeps_any_size_through_its_side_multiple(architecture):
    network = TransformerNet(8, 1, architecture=architecture).eval()
    with torch.no_grad():
        for height, width in ((SIDE_MULTIPLE * 5, SIDE_MULTIPLE * 7), (SIDE_MULTIPLE * 5 + 1, SIDE_MULTIPLE * 7 + 3)):
            assert network(torch.rand(1, 3, height, width)).shape == (1, 3, height, width)


@pytest.mark.parametrize("layer", ENCODER_LAYERS)
def test_each_encoder_layer_a_config_may_name_has_a_decoder(layer):
    assert Decoder(layer, 4).levels[-1] == layer


def test_the_names_a_config_takes_are_the_networks_and_the_decoder():
    assert ARCHITECTURES == ("johnson", "realtime", "decoder") and ENCODER_LAYERS == ("relu4_1", "relu3_1", "relu2_1")
