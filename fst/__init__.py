"""fst: fast neural style transfer with feed-forward networks, trained from a YAML config, exported to ONNX."""

__version__ = "0.1.0"

from fst.stylize import Stylizer  # noqa: E402  (after __version__, which the modules it imports read)

__all__ = ["Stylizer", "__version__"]
