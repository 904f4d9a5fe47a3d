"""Distill a trained style network into a narrower, faster one, then export it to ONNX (see README.md).

    python distill.py --teacher runs/wave/last.pt --photos data/photos --run-dir runs/wave-fast
    python distill.py --teacher exports/wave.onnx --photos data/photos --run-dir runs/wave-fast --steps 4000

An existing --run-dir is continued where it stopped; --restart starts it over.
"""

from fst.cli.entry import run

if __name__ == "__main__":
    run("distill")
