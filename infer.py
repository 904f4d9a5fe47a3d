"""Stylize images with a trained model: `python infer.py --model exports/demo.onnx --input a.jpg --output b.jpg`."""

from fst.cli.infer import cli

if __name__ == "__main__":
    cli()
