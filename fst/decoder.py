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

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fst.architectures import DECODER_LEVELS
from fst.backends import onnx_session
from fst.errors import FstError
from fst.files import atomic_write
from fst.version import __version__
from fst.vgg import VGG16Features, load_vgg16
from fst.wct import statistics, transform

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


class ExportedArbitrary(nn.Module):
    """What is traced: the stylized image; from the same encoder pass, the features of the (padded) input at each
    styled level, for a painting's statistics (fst.arbitrary.painting_statistics, without PyTorch); and those
    statistics computed in the graph, for runtimes without an eigendecomposition (the browser: fst.wct.statistics),
    of the first image."""

    def __init__(self, net: ArbitraryStyleNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        height, width = image.shape[-2:]
        top = self.net.decoder.encoder_layer
        features = self.net.encoder(self.net.padded(image), (top, *self.net.levels))
        stylized = self.net.decode(features[top], *inputs)[..., :height, :width]
        deep_first = [features[level] for level in self.net.levels]
        return stylized, *deep_first, *(value for f in deep_first for value in statistics(f[:1]))


def graph_names(deep_first: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The arbitrary model's input and output names for its styled levels, deep to shallow (fst.arbitrary reads
    them back)."""
    inputs = ["image", *(f"{kind}_{level}" for level in deep_first for kind in ("mean", "colouring")), "strength"]
    outputs = ["stylized", *(f"features_{level}" for level in deep_first),
               *(f"painting_{kind}_{level}" for level in deep_first for kind in ("mean", "colouring"))]  # fmt: skip
    return inputs, outputs


ARBITRARY_IO = (
    "input 'image': float32 NCHW RGB in [0, 1], any size of 8 pixels or more; for each level L of metadata 'levels' "
    "'mean_L' (C,) and 'colouring_L' (C, C), a painting's statistics (fst.arbitrary); 'strength' (1,): 1 "
    "the painting's, 0 the photo's; output 'stylized' as the image; 'features_L': the image's encoder features; "
    "'painting_mean_L' and 'painting_colouring_L': the first image's statistics, to feed back for a painting"
)
MAX_ABS_ERROR = 1e-3


def export_arbitrary(decoder: Decoder, vgg_weights: str, path: str | Path, metadata: dict[str, str],
                     levels: tuple[str, ...] | None = None) -> float:  # fmt: skip
    """The encoder, transform(s) and decoder as one ONNX file at `path` (the painting's statistics given at
    `levels`, ArbitraryStyleNet's), written only once it matches PyTorch within MAX_ABS_ERROR on a size it was not
    traced with, for the statistics of a painting-like random image; returns that error."""
    import onnx

    from fst.arbitrary import painting_statistics
    from fst.export import _make_portable, _trace_graph

    net = ArbitraryStyleNet(load_vgg16(vgg_weights, decoder.encoder_layer), copy.deepcopy(decoder).float().cpu(),
                            levels)  # fmt: skip
    graph = ExportedArbitrary(net.eval())
    inputs, outputs = graph_names(net.levels)
    generator = torch.Generator().manual_seed(0)
    identity = [t for level in net.levels for t in (torch.zeros(CHANNELS[level]), torch.eye(CHANNELS[level]))]
    trace = (torch.rand(1, 3, 64, 64, generator=generator), *identity, torch.ones(1))
    dims = {name: {0: "batch", 2: "height", 3: "width"} for name in ("image", "stylized")}
    dims |= {name: {0: "batch", 2: f"{name}_rows", 3: f"{name}_columns"} for name in outputs if "features" in name}
    proto = _trace_graph(graph, trace, inputs, outputs, dims)
    _make_portable(proto, None)
    props = {"fst_version": __version__, "io": ARBITRARY_IO, "precision": "fp32", "kind": "arbitrary",
             "levels": ",".join(net.levels), **metadata}  # fmt: skip
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=str(value))
    onnx.checker.check_model(proto, full_check=True)

    painting = torch.rand(1, 3, 96, 128, generator=generator) ** 2  # uneven, as a painting's colours are
    with torch.no_grad():
        features = net.features(painting)
        stats = [painting_statistics(features[level][0].numpy()) for level in net.levels]
        feeds = dict(zip(inputs[1:], [array for pair in stats for array in pair] + [np.array([0.8], np.float32)]))
        image = torch.rand(2, 3, 83, 117, generator=generator)
        expected = net(image, *(torch.from_numpy(v) for v in feeds.values())).numpy()
    path = Path(path)
    try:
        with atomic_write(path) as tmp:
            onnx.save(proto, tmp)
            got = onnx_session(tmp).run(["stylized"], {"image": image.numpy(), **feeds})[0]
            error = float(abs(got - expected).max()) if got.shape == expected.shape else float("inf")
            if not error <= MAX_ABS_ERROR:
                raise FstError(f"ONNX export of {path.name} does not match PyTorch: max abs error {error:.3g}, "
                               f"allowed {MAX_ABS_ERROR:g}; nothing was written")  # fmt: skip
    except OSError as e:
        raise FstError(f"cannot write {path} ({e.strerror or e}); nothing was written") from None
    return error
