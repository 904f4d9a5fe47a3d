"""Peak memory of `infer.py` by image size, whole and in tiles, against the estimates that choose the tile size.

    python bench/memory.py [--model exports/starry_night.onnx] [--threads 1]

Each row runs infer.py in a fresh process on a photo scaled up to the given size and reads that process's peak
resident memory (ru_maxrss), so the figure is what a user's machine sees: Python, torch, onnxruntime, the
decoded image and the network's activations. The estimate is fst.tiling's for the same image and tile; the
default budget row is what `infer.py` does with no flags on this machine. Last line: the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.hardware import cpu_capability  # noqa: E402
from fst.tiling import GB, choose_tile, memory_budget, tiled_bytes, whole_image_bytes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# (width, height, extra infer.py flags): whole images, then what the default budget does up to 24 MP, then tiles
ROWS = [
    (1000, 1000, ["--max-memory", "16"]),
    (2000, 2000, ["--max-memory", "16"]),
    (3000, 2000, []),
    (6000, 4000, []),
    (6000, 4000, ["--max-memory", "2"]),
    (6000, 4000, ["--tile", "768"]),
]


def peak_of_child(command: list[str], threads: int) -> tuple[float, float]:
    """(peak resident GB, seconds) of one command run in a fresh process."""
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *command], env=environment, capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1]) * 1024 / GB, time.perf_counter() - start  # ru_maxrss is in KiB


def flag(flags: list[str], name: str) -> float | None:
    return float(flags[flags.index(name) + 1]) if name in flags else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "exports/starry_night.onnx"))
    parser.add_argument("--photo", default=str(REPO / "data/demo/chelsea.jpg"))
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of the measured process")
    args = parser.parse_args()
    budget = memory_budget(cuda=False)
    print(f"CPU: {cpu_capability()}; default budget on this machine {budget:.2f} GB; {args.threads} thread(s)")
    print(f"{'image':>12} {'MP':>5} {'flags':>18} {'tile':>6} {'peak GB':>8} {'estimate':>9} {'GB/MP':>6} {'s':>6}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, height, flags in ROWS:
            source = Path(tmp) / f"{width}x{height}.jpg"
            if not source.exists():
                Image.open(args.photo).convert("RGB").resize((width, height), Image.BICUBIC).save(source, quality=92)
            target = Path(tmp) / "out.png"
            command = [sys.executable, str(REPO / "infer.py"), "--model", args.model, "--input", str(source),
                       "--output", str(target), "--overwrite", "--device", "cpu", *flags]  # fmt: skip
            peak, seconds = peak_of_child(command, args.threads)
            tile = flag(flags, "--tile")
            tile = int(tile) if tile else choose_tile(width, height, flag(flags, "--max-memory") or budget)
            estimate = (whole_image_bytes(width, height) if tile is None else tiled_bytes(width, height, tile)) / GB
            megapixels = width * height / 1e6
            print(f"{width:>5}x{height:<6} {megapixels:>5.1f} {' '.join(flags) or 'default':>18} "
                  f"{tile or 'whole':>6} {peak:>8.2f} {estimate:>9.2f} {peak / megapixels:>6.2f} {seconds:>6.0f}")  # fmt: skip
            rows.append({"width": width, "height": height, "flags": flags, "tile": tile, "peak_gb": round(peak, 3),
                         "estimate_gb": round(estimate, 3), "seconds": round(seconds, 1)})  # fmt: skip
    print(json.dumps({"cpu": cpu_capability(), "default_budget_gb": round(budget, 2), "rows": rows}))


if __name__ == "__main__":
    main()
