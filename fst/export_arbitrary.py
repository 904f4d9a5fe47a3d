"""The arbitrary-style network's ONNX export: the encoder, the painting's statistics at each styled level and the
decoder as one graph for any size, which also gives the features a painting's statistics are computed from
(fst.arbitrary reads its inputs and outputs back by the names here); verified against PyTorch before it is
written."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fst.arbitrary import painting_statistics
from fst.decoder import CHANNELS, ArbitraryStyleNet, Decoder
from fst.errors import FstError
from fst.files import atomic_write
from fst.onnxrun import onnx_session
from fst.onnxtrace import make_portable, trace_graph
from fst.version import __version__
from fst.vgg import load_vgg16
from fst.wct import statistics


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

    net = ArbitraryStyleNet(load_vgg16(vgg_weights, decoder.encoder_layer), copy.deepcopy(decoder).float().cpu(),
                            levels)  # fmt: skip
    graph = ExportedArbitrary(net.eval())
    inputs, outputs = graph_names(net.levels)
    generator = torch.Generator().manual_seed(0)
    identity = [t for level in net.levels for t in (torch.zeros(CHANNELS[level]), torch.eye(CHANNELS[level]))]
    trace = (torch.rand(1, 3, 64, 64, generator=generator), *identity, torch.ones(1))
    dims = {name: {0: "batch", 2: "height", 3: "width"} for name in ("image", "stylized")}
    dims |= {name: {0: "batch", 2: f"{name}_rows", 3: f"{name}_columns"} for name in outputs if "features" in name}
    proto = trace_graph(graph, trace, inputs, outputs, dims)
    make_portable(proto, None)
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
