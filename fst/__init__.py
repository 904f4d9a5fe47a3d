"""fst: fast neural style transfer with feed-forward networks, trained from a YAML config, exported to ONNX."""

from fst.stylize import Stylizer
from fst.version import __version__

__all__ = ["Stylizer", "__version__"]
