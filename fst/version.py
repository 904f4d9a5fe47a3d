"""fst's version: written into checkpoints and ONNX metadata, and read by the package build."""

__version__ = "0.1.0"
