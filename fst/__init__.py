"""fst: fast neural style transfer with feed-forward networks, trained from a YAML config, exported to ONNX."""

from fst.version import __version__

__all__ = ["Stylizer", "__version__", "styles"]


def styles() -> list[str]:
    """The shipped styles' names, which Stylizer takes as its model (`Stylizer("wave")`); a model of several
    styles lists its own in `Stylizer(name).styles`, and "arbitrary" takes any painting (`painting=`)."""
    from fst.catalogue import shipped_styles

    return shipped_styles()


def __getattr__(name: str):
    """`fst.Stylizer` loads on first use: importing fst itself stays instant, so a command line starts, and can
    be interrupted, before torch loads."""
    if name == "Stylizer":
        from fst.stylize import Stylizer

        return Stylizer
    raise AttributeError(f"module 'fst' has no attribute {name!r}")
