"""fst: fast neural style transfer with feed-forward networks, trained from a YAML config, exported to ONNX."""

__version__ = "0.1.0"
