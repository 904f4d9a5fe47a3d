"""Start-up: what a user waits for before and around one photo, each command run afresh as a user runs it.

    python bench/startup.py [--runs 5] [--model starry_night]

Rows: every command's --help; fst-infer on one 512x512 photo end to end (the model's compiled form cached by an
earlier run, as after the first run on a machine); and, in this process, loading the model (Stylizer) and
stylizing the photo. The baseline, run in turn with the others so that a busy moment falls on all of them, is
the interpreter itself starting (python -c pass). Figures: the median of --runs, and its ratio to the baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.hardware import cpu_capability  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("fst-infer", "fst-train", "fst-export", "fst-optimize", "fst-distill", "fst-serve")


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="starry_night")
    args = parser.parse_args()
    scripts = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder:
        photo, out = Path(folder) / "photo.jpg", Path(folder) / "out.jpg"
        from PIL import Image

        Image.open(REPO / "data" / "demo" / "astronaut.jpg").convert("RGB").resize((512, 512)).save(photo)
        infer = [str(scripts / "fst-infer"), "--model", args.model, "--input", str(photo), "--output", str(out),
                 "--overwrite"]  # fmt: skip
        subprocess.run(infer, check=True, capture_output=True)  # the runtime measured and the model compiled once
        cases = {"python -c pass (baseline)": [sys.executable, "-c", "pass"]}
        cases |= {f"{name} --help": [str(scripts / name), "--help"] for name in COMMANDS}
        cases[f"fst-infer --model {args.model}, one 512x512 photo"] = infer
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                times[name].append(seconds(argv))
        from fst import Stylizer

        loads, runs = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            stylizer = Stylizer(args.model)
            loads.append(time.perf_counter() - start)
            start = time.perf_counter()
            stylizer.stylize(photo)
            runs.append(time.perf_counter() - start)
    baseline = float(np.median(times["python -c pass (baseline)"]))
    print(f"CPU: {cpu_capability()}; {args.runs} runs each, medians")
    print("| what | seconds | against the interpreter's start |\n| --- | --- | --- |")
    for name, values in times.items():
        print(f"| {name} | {np.median(values):.2f} | {np.median(values) / baseline:.1f}x |")
    print(f"| Stylizer({args.model!r}), in this process | {np.median(loads):.2f} | |")
    print(f"| its stylize() of the photo ({stylizer.path.name}, {stylizer.runtime}) | {np.median(runs):.2f} | |")


if __name__ == "__main__":
    main()
