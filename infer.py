"""Stylize images with a trained model: `python infer.py --model exports/demo.onnx --input a.jpg --output b.jpg`."""

from fst.cli.entry import run

if __name__ == "__main__":
    run("infer")
