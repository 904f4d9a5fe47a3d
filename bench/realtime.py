"""The realtime architecture, choice by choice: what each step from the Johnson network costs at 640x360.

    python bench/realtime.py [--size 640x360] [--repeats 15]

Each row changes one thing from the row above, starting at the width-16 Johnson network (distill.py --width 16),
ending at fst.transformer's realtime architecture; built from fst.transformer's own layers, random weights (the
time does not depend on them), exported with fst.export, run by onnxruntime fp32 on this CPU with all its cores,
median of --repeats runs after warm-up, batch 1. Then the realtime network's time split by operator (onnxruntime's
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
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    frame = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    folder = Path(tempfile.mkdtemp(prefix="fst-realtime-"))
    print(f"CPU: {cpu_capability()}; onnxruntime fp32, {args.size}, batch 1")
    print(f"{'network':<48} {'weights':>8} {'ms':>8} {'frames/s':>9} {'x first':>8}")
    rows, first = [], None
    for i, (name, build) in enumerate(STEPS):
        torch.manual_seed(0)
        network = build().eval()
        path = folder / f"{i}.onnx"
        export_onnx(network, path, {})
        session = onnx_session(path)
        for _ in range(3):
            run_onnx(session, frame)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run_onnx(session, frame)
            times.append(time.perf_counter() - start)
        ms = statistics.median(times) * 1000
        first = first or ms
        weights = sum(p.numel() for p in network.parameters())
        rows.append({"network": name, "weights": weights, "ms": round(ms, 1)})
        print(f"{name:<48} {weights:>8,} {ms:>8.1f} {1000 / ms:>9.1f} {first / ms:>7.1f}x", flush=True)
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
