"""Export a trained network to ONNX, verified against PyTorch before anything is written (see README.md).

    python export.py runs/wave/last.pt -o exports/wave.onnx              # fp32
    python export.py runs/wave/last.pt -o exports/wave-int8.onnx --int8 --photos DIR
    python export.py --index exports                                    # exports/models.json, for the page
"""

from fst.cli.entry import run

if __name__ == "__main__":
    run("export")
