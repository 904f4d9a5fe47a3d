"""The realtime architecture, choice by choice: what each step from the Johnson network costs at 640x360.

    python bench/realtime.py [--size 640x360] [--repeats 15]

Each row changes one thing from the row above, starting at the width-16 Johnson network (distill.py --width 16),
ending at fst.transformer's realtime architecture, then variants of it (fewer blocks, wider, and the levers a
retraining would need: zero padding inside the network with one reflection pad at the input, instance norm as a
fixed scale and shift, as statistics held over a shot would give); built from fst.transformer's own layers, random
weights (the time does not depend on them), exported with fst.export, run in fp32 on this CPU with all its cores
by onnxruntime and by OpenVINO where it is installed (a column each), the runs of the rows taking turns, median of
--repeats runs after warm-up, batch 1. Then the realtime network's time split by operator (onnxruntime's
profiler). The CPU's capability is printed: the figures are for this CPU only.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.export import export_onnx  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.onnxrun import onnx_session, run_onnx  # noqa: E402
from fst.runtimes import openvino_installed  # noqa: E402
from fst.transformer import ConvLayer, ResidualBlock, TransformerNet, UpsampleConv  # noqa: E402


class Variant(TransformerNet):
    """A TransformerNet whose layers are given: the steps between the two architectures fst ships."""

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__(width=1, res_blocks=0)
        self.net = nn.Sequential(*layers)


def johnson(width: int, blocks: int, kernel: int, separable_blocks: bool, separable_up: bool) -> Variant:
    return Variant([
        ConvLayer(3, width, kernel), ConvLayer(width, 2 * width, 3, stride=2),
        ConvLayer(2 * width, 4 * width, 3, stride=2),
        *[ResidualBlock(4 * width, separable=separable_blocks) for _ in range(blocks)],
        UpsampleConv(4 * width, 2 * width, separable_up), UpsampleConv(2 * width, width, separable_up),
        ConvLayer(width, 3, kernel, norm=False, relu=False),
    ])  # fmt: skip


def folded(width: int, blocks: int, separable_blocks: bool, half_size_block: bool = False) -> Variant:
    """2x2 pixels folded into channels: the realtime layout, with dense or separable blocks, and optionally one
    more separable block at half size after the upsampling (more depth where the picture is made)."""
    return Variant([
        nn.PixelUnshuffle(2), ConvLayer(12, width, 3), ConvLayer(width, 2 * width, 3, stride=2, separable=True),
        *[ResidualBlock(2 * width, separable=separable_blocks) for _ in range(blocks)],
        UpsampleConv(2 * width, width, separable=True),
        *([ResidualBlock(width, separable=True)] if half_size_block else []),
        ConvLayer(width, 12, 3, norm=False, relu=False), nn.PixelShuffle(2),
    ])  # fmt: skip


def replace_layers(network: nn.Module, kind: type, make) -> None:
    """Every layer of `kind` in `network` replaced by make(layer)."""
    for module in list(network.modules()):
        for name, child in module.named_children():
            if isinstance(child, kind):
                setattr(module, name, make(child))


class ZeroPadded(TransformerNet):
    """The realtime network with zero padding inside (folded into each convolution by the runtimes) and one
    reflection pad of `margin` pixels around the input, cropped off the output."""

    def __init__(self, margin: int = 4) -> None:
        super().__init__(architecture="realtime")
        self.margin = margin
        replace_layers(self, nn.ReflectionPad2d, lambda pad: nn.ZeroPad2d(pad.padding))

    def stylize_padded(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        m = self.margin
        return super().stylize_padded(nn.functional.pad(image, (m, m, m, m), mode="reflect"), style)[..., m:-m, m:-m]


class HeldNorms(TransformerNet):
    """The realtime network with each instance norm a fixed scale and shift per channel: what statistics held over
    a shot, built into the graph, would run."""

    def __init__(self) -> None:
        super().__init__(architecture="realtime")
        replace_layers(self, nn.InstanceNorm2d, lambda norm: FixedNorm(norm.num_features))


class FixedNorm(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale, self.shift = nn.Parameter(torch.rand(1, channels, 1, 1)), nn.Parameter(torch.rand(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


STEPS = [
    ("Johnson, width 16", lambda: johnson(16, 5, 9, False, False)),
    ("3x3 in place of the 9x9 first and last", lambda: johnson(16, 5, 3, False, False)),
    ("depthwise-separable residual blocks", lambda: johnson(16, 5, 3, True, False)),
    ("depthwise-separable upsampling", lambda: johnson(16, 5, 3, True, True)),
    ("2x2 pixels folded into channels, dense blocks", lambda: folded(32, 5, False)),
    ("realtime: folded, separable blocks (fst.transformer)", lambda: TransformerNet(architecture="realtime")),
    ("realtime with 3 blocks in place of 5", lambda: TransformerNet(32, 3, "realtime")),
    ("realtime at width 48", lambda: TransformerNet(48, 5, "realtime")),
    ("realtime with a block at half size", lambda: folded(32, 5, True, half_size_block=True)),
    ("realtime, zero padding inside, reflection at input", ZeroPadded),
    ("realtime, instance norms as fixed scale and shift", HeldNorms),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    frame = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    folder = Path(tempfile.mkdtemp(prefix="fst-realtime-"))
    runtimes = ["onnxruntime", "openvino"] if openvino_installed() else ["onnxruntime"]
    print(f"CPU: {cpu_capability()}; fp32, {args.size}, batch 1; ms in {' and '.join(runtimes)}")
    sessions, weights = [], []
    for i, (_, build) in enumerate(STEPS):
        torch.manual_seed(0)
        network = build().eval()
        path = folder / f"{i}.onnx"
        export_onnx(network, path, {})
        sessions.append([onnx_session(path, runtime=runtime) for runtime in runtimes])
        weights.append(sum(p.numel() for p in network.parameters()))
    times = collections.defaultdict(list)
    for _ in range(3):  # warm-up
        for row in sessions:
            for session in row:
                run_onnx(session, frame)
    for _ in range(args.repeats):  # the rows take turns, so a busy moment falls on all of them
        for i, row in enumerate(sessions):
            for runtime, session in zip(runtimes, row):
                start = time.perf_counter()
                run_onnx(session, frame)
                times[i, runtime].append(time.perf_counter() - start)
    print(f"{'network':<52} {'weights':>8} " + " ".join(f"{r + ' ms':>15} {'x first':>8}" for r in runtimes))
    rows = []
    for i, (name, _) in enumerate(STEPS):
        ms = {runtime: statistics.median(times[i, runtime]) * 1000 for runtime in runtimes}
        first = {runtime: statistics.median(times[0, runtime]) * 1000 for runtime in runtimes}
        rows.append({"network": name, "weights": weights[i], **{f"{r}_ms": round(ms[r], 1) for r in runtimes}})
        print(f"{name:<52} {weights[i]:>8,} " + " ".join(f"{ms[r]:>15.1f} {first[r] / ms[r]:>7.1f}x" for r in runtimes))
    profile_operators(folder / "5.onnx", frame)
    print(json.dumps({"benchmark": "realtime", "cpu": cpu_capability(), "size": args.size, "rows": rows}))


def profile_operators(path: Path, frame: np.ndarray, runs: int = 10) -> None:
    """Where the realtime network's time goes, by operator type."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(path.with_suffix(""))  # beside the model, not in the current folder
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        run_onnx(session, frame)
    profile = Path(session.end_profiling())
    events = json.loads(profile.read_text())
    profile.unlink()
    spent: collections.Counter = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values())
    print("realtime network, time by operator: " + ", ".join(
        f"{op} {100 * us / total:.0f}%" for op, us in spent.most_common(8)))  # fmt: skip


if __name__ == "__main__":
    main()
