"""The arbitrary-style network: fst's frozen VGG16 as encoder, a decoder trained only to turn its features back
into the photo, and at each level between them the painting's statistics (fst.wct). No painting is seen in
training, so any painting given at run time is served by the same weights.

The decoder is built of blocks, one per encoder level (relu4_1, relu3_1, relu2_1, relu1_1), each trained to turn
that level's features into the level's below (the last into the image), as Chiu and Gurari's block-wise decoder
(PhotoWCT2), and the whole of it to turn relu4_1's features into the photo. The painting's statistics are given at
relu4_1 by default; `levels` gives them further down too, in the same pass (docs/arbitrary.md measures both). A
block: 3x3 convolutions with reflection padding and ReLU, nearest 2x upsampling where VGG16 pools. `width` sets
the blocks' inner channels (4, 2, 1 and 1 times it, deep to shallow).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fst.architectures import DECODER_LEVELS
from fst.vgg import VGG16Features
from fst.wct import transform

CHANNELS = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512}
INNER = {"relu1_1": 1, "relu2_1": 1, "relu3_1": 2, "relu4_1": 4}  # times width


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)] + [nn.ReLU()] * relu


def block(level: str, width: int) -> nn.Sequential:
    """Features at `level` -> the features of the level below (post-ReLU, as VGG16's), or for relu1_1 the image."""
    inner = INNER[level] * width
    if level == "relu1_1":
        return nn.Sequential(*_conv(CHANNELS[level], inner), *_conv(inner, 3, relu=False))
    below = DECODER_LEVELS[DECODER_LEVELS.index(level) - 1]
    return nn.Sequential(*_conv(CHANNELS[level], inner), nn.Upsample(scale_factor=2, mode="nearest"),
                         *_conv(inner, inner), *_conv(inner, CHANNELS[below]))  # fmt: skip


class Decoder(nn.Module):
    """VGG16 features at `encoder_layer` -> an RGB image (unclamped) of the size the encoder saw, block by block."""

    def __init__(self, encoder_layer: str = "relu4_1", width: int = 32) -> None:
        super().__init__()
        if encoder_layer not in DECODER_LEVELS:
            raise ValueError(f"encoder layer {encoder_layer!r}: expected one of {', '.join(reversed(DECODER_LEVELS))}")
        self.encoder_layer, self.width = encoder_layer, width
        self.levels = DECODER_LEVELS[: DECODER_LEVELS.index(encoder_layer) + 1]
        self.blocks = nn.ModuleDict({level: block(level, width) for level in self.levels})

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        for level in reversed(self.levels):
            features = self.blocks[level](features)
        return features

    @property
    def side_multiple(self) -> int:
        """Image sides the encoder's pooling divides exactly."""
        return 2 ** (len(self.levels) - 1)


def decoder_from(state: dict) -> Decoder:
    """The trained decoder of a checkpoint of a decoder run (its config says the encoder layer and width)."""
    model = state["config"]["model"]
    decoder = Decoder(model.get("encoder_layer", "relu4_1"), model["width"])
    decoder.load_state_dict(state["model"])
    return decoder.eval()


class ArbitraryStyleNet(nn.Module):
    """Photo in [0, 1] and a painting's statistics -> stylized photo in [0, 1], one pass: encode, then block by block
    from the deepest level, the painting's statistics given at each of `levels` (default: the deepest alone).
    `statistics`: (mean, colouring) for each of those levels, deep to shallow, then the strength."""

    def __init__(self, encoder: VGG16Features, decoder: Decoder, levels: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        levels = levels or (decoder.encoder_layer,)
        if not set(levels) <= set(decoder.levels):
            raise ValueError(f"levels {', '.join(levels)}: expected some of {', '.join(decoder.levels)}")
        self.levels = tuple(level for level in reversed(decoder.levels) if level in levels)  # deep to shallow

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder's features at the styled levels: of a painting, for fst.arbitrary.painting_statistics."""
        return self.encoder(image, self.levels)

    def decode(self, top: torch.Tensor, *statistics: torch.Tensor) -> torch.Tensor:
        """The deepest level's features -> the image, block by block, the painting's statistics given at each of
        self.levels."""
        x, given = top, iter(zip(statistics[:-1:2], statistics[1:-1:2]))
        for level in reversed(self.decoder.levels):
            if level in self.levels:
                x = transform(x, *next(given), statistics[-1])
            x = self.decoder.blocks[level](x)
        return x.clamp(0, 1)

    def padded(self, image: torch.Tensor) -> torch.Tensor:
        """Reflection-padded on the right and bottom to sides the encoder's pooling divides exactly."""
        height, width = image.shape[-2:]
        multiple = self.decoder.side_multiple
        return F.pad(image, (0, (-width) % multiple, 0, (-height) % multiple), mode="reflect")

    def forward(self, image: torch.Tensor, *statistics: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        top = self.decoder.encoder_layer
        return self.decode(self.encoder(self.padded(image), (top,))[top], *statistics)[..., :height, :width]
