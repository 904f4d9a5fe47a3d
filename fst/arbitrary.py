"""Any painting at run time, without PyTorch: the arbitrary-style model (fst.decoder's export) given a painting.

A painting's statistics (the mean and colouring matrix of its encoder features, fst.wct) are computed once: the
model's own graph encodes the painting (its `features` output) and numpy does the eigendecomposition. They are then
built into a copy of the model as constants, with the strength: a model with one input, `image`, like any style's
network, which every runtime fst uses, the browser and other programs run as it is. Copies are kept in
~/.cache/fst/paintings (the newest KEPT), named by the painting and keyed by the model's and the painting's bytes,
the painting's size and the strength, so a painting used again starts at once.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from fst.errors import FstError
from fst.files import atomic_write, cache_folder
from fst.images import load_rgb, resize_long_side, to_array
from fst.onnxfile import is_arbitrary, load_onnx, onnx_metadata, proto_metadata
from fst.onnxrun import onnx_session
from fst.version import __version__

PAINTING_SIDE = 512  # the painting's long side when its statistics are taken: the scale of its strokes
MIN_PAINTING_SIDE = 32  # relu4_1 sees it at 1/8: 4 positions, the fewest that have a covariance worth the name
KEPT = 16  # painting models kept in the cache, the newest (each as large as the model: about 16 MB)
# The least texture (see texture()) a painting needs at TEXTURE_LEVEL. Measured on paintings and photos at 512
# pixels: the seven paintings of ../shared 2.3 to 3.8, photos 2.7 to 4.4, a dark starfield 0.88, a painting dimmed
# to a fifth or to a twentieth of its contrast 3.0 and 2.2; a flat colour 0.09, one pixel 0.14, a smooth gradient
# 0.36, pixel noise (grey once resized) 0.32. Below it the model paints only a blur of the painting's colour. At
# relu2_1 the same measure does not part a gradient (0.41) from a faint painting (0.27): models without relu4_1
# are not checked.
MIN_TEXTURE = 0.6
TEXTURE_LEVEL = "relu4_1"


def is_painting_input(name: str) -> bool:
    """The arbitrary model's inputs beside `image`: mean_LEVEL, colouring_LEVEL for each level, and strength."""
    return name == "strength" or name.startswith(("mean_relu", "colouring_relu"))


def painting_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, H, W) features of a painting -> its mean (C,) and colouring matrix S^(1/2) (C, C), float32, computed in
    float64 by eigendecomposition; negative eigenvalues (rounding) count as 0, so a flat painting gives 0."""
    flat = features.reshape(features.shape[0], -1).astype(np.float64)
    mean = flat.mean(1)
    centred = flat - mean[:, None]
    values, vectors = np.linalg.eigh(centred @ centred.T / flat.shape[1])
    colouring = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    return mean.astype(np.float32), colouring.astype(np.float32)


def texture(features: np.ndarray) -> float:
    """How much a painting's (C, H, W) features vary from place to place against their size: the sum of the
    channels' variances over the sum of their squared means, one position in from the edges (where padding alone
    makes a flat colour vary). It does not change with the painting's brightness or contrast."""
    inner = features[:, 1:-1, 1:-1].reshape(features.shape[0], -1).astype(np.float64)
    return float(inner.var(1).sum() / max((inner.mean(1) ** 2).sum(), 1e-12))


def painting_file(painting: str | Path) -> Path:
    """The painting's path; FstError for an empty name (which Path would read as the current folder)."""
    if not str(painting):
        raise FstError("painting '': expected a painting's image file")
    return Path(painting)


def load_painting(path: str | Path, side: int = PAINTING_SIDE) -> Image.Image:
    """The painting as RGB, long side `side`; FstError naming the file when it cannot be read or is too narrow."""
    try:
        image = load_rgb(path)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise FstError(f"cannot read the painting {path} ({e})") from None
    if min(image.size) * side < MIN_PAINTING_SIDE * max(image.size):
        raise FstError(f"the painting {path} is {image.width}x{image.height}: too narrow, its short side would be "
                       f"under {MIN_PAINTING_SIDE} pixels at {side} on the long side")  # fmt: skip
    return resize_long_side(image, side)


def painting_features(session, painting: Image.Image) -> dict[str, np.ndarray]:
    """The painting's encoder features at each level, (C, H, W) by level name, from an arbitrary-style model's
    session (fed strength 0; the stylized output is not used)."""
    feeds = {"image": to_array(painting)}
    for value in session.get_inputs()[1:]:
        feeds[value.name] = np.zeros(value.shape if value.name != "strength" else [1], np.float32)
    names = [o.name for o in session.get_outputs() if o.name.startswith("features_")]
    return {name.removeprefix("features_"): out[0] for name, out in zip(names, session.run(names, feeds))}


def with_painting(proto, features: dict[str, np.ndarray], strength: float, name: str, image: str = ""):
    """A copy of the arbitrary-style model with the painting's statistics at every level (from its `features`)
    and the strength as constants: one input (image), one output (stylized), metadata naming the painting (`name`,
    and its file name `image`)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    values = {"strength": np.array([strength], np.float32)}
    for level, level_features in features.items():
        values[f"mean_{level}"], values[f"colouring_{level}"] = painting_statistics(level_features)
    kept = [value for value in model.graph.input if value.name not in values]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    model.graph.initializer.extend(numpy_helper.from_array(array, name) for name, array in values.items())
    stylized = [value for value in model.graph.output if value.name == "stylized"]
    del model.graph.output[:]
    model.graph.output.extend(stylized)
    _prune(model)
    metadata = proto_metadata(proto) | {"kind": "painting", "style": name, "style_image": image or name,
                                        "strength": f"{strength:g}", "fst_version": __version__}  # fmt: skip
    metadata["io"] = "input 'image': float32 NCHW RGB in [0, 1]; output 'stylized': the same"
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    return model


def _prune(model) -> None:
    """Drop the nodes and constants no output needs: the graph's own statistics of the image (for the browser),
    which a model with the painting built in never computes again."""
    needed = {value.name for value in model.graph.output}
    kept = []
    for node in reversed(model.graph.node):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(node.input)
    del model.graph.node[:]
    model.graph.node.extend(reversed(kept))
    used = [init for init in model.graph.initializer if init.name in needed]
    del model.graph.initializer[:]
    model.graph.initializer.extend(used)


def painting_proto(model: Path, painting: str | Path, strength: float, side: int, name: str):
    """with_painting for a model file and a painting file: the painting encoded by the model's own graph."""
    proto = load_onnx(model)
    if not is_arbitrary(proto_metadata(proto)):
        raise FstError(f"{model} is not an arbitrary-style model: a painting needs one (exports/arbitrary.onnx)")
    features = painting_features(onnx_session(proto), load_painting(painting, side))
    measured = texture(features[TEXTURE_LEVEL]) if TEXTURE_LEVEL in features else math.inf
    if measured < MIN_TEXTURE:
        raise FstError(f"the painting {painting} has almost no texture at {side} pixels ({measured:.2f}, under "
                       f"{MIN_TEXTURE}): a flat colour, a smooth gradient or detail too fine to survive the resize "
                       "would paint only a blur of its colour; give a painting with visible strokes or shapes")
    return with_painting(proto, features, strength, name, Path(painting).name)


def painting_name(painting: Path) -> str:
    """The painting's file name without suffix, in letters, digits and ._- only: its models' style name."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in painting.stem)[:60] or "painting"


def export_painting(model: Path, painting: str | Path, output: Path, strength: float = 1.0) -> Path:
    """The painting's model (with_painting) written to `output`, only once whole: one self-contained file with one
    input, for any runtime."""
    painting = painting_file(painting)
    made = painting_proto(model, painting, strength, PAINTING_SIDE, painting_name(painting))
    try:
        with atomic_write(output) as tmp:
            tmp.write_bytes(made.SerializeToString())
    except OSError as e:
        raise FstError(f"cannot write {output} ({e.strerror or e}); nothing was written") from None
    return output


def private_temp() -> Path | None:
    """fst-paintings-UID in the system's temp folder, made readable and writable by this user alone; None where it
    is not that (another user made it, or a link): in a folder others can write, they could plant a model that
    would run under this painting's name."""
    folder = Path(tempfile.gettempdir()) / f"fst-paintings-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return folder if private else None


def painting_model(model: Path, painting: str | Path, strength: float = 1.0, side: int = PAINTING_SIDE) -> Path:
    """A model file for this painting (with_painting), from the cache or made now; FstError when `model` is not
    an arbitrary-style model or the painting cannot be read."""
    painting = painting_file(painting)
    try:
        painting_bytes = painting.read_bytes()
    except OSError as e:
        raise FstError(f"cannot read the painting {painting} ({e.strerror or e})") from None
    key = hashlib.sha256()
    for part in (model.read_bytes(), painting_bytes, f"{side} {strength:.6g} {__version__} {MIN_TEXTURE}".encode()):
        key.update(hashlib.sha256(part).digest())
    name = painting_name(painting)
    folders = [cache_folder() / "paintings", *filter(None, [private_temp()])]  # a read-only home: the temp folder
    places = [folder / f"{name}-{key.hexdigest()[:16]}.onnx" for folder in folders]
    for cached in places:
        if cached.is_file():
            os.utime(cached)  # the newest is kept longest
            return cached
    made = painting_proto(model, painting, strength, side, name)
    for cached in places:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(cached) as tmp:
                tmp.write_bytes(made.SerializeToString())
        except (OSError, FstError):
            continue
        for old in sorted(cached.parent.glob("*.onnx"), key=lambda p: p.stat().st_mtime)[:-KEPT]:
            old.unlink(missing_ok=True)
        return cached
    raise FstError(f"cannot write the painting's model to {' or '.join(map(str, folders))}")


def model_to_run(model: Path, painting: str | Path | None, strength: float) -> Path:
    """The file a Stylizer runs: `model` itself, or given a painting, its painting model (painting_model). A
    style's network with a painting is a one-line FstError (and an arbitrary-style model without one, the backend's:
    fst.backends.OnnxBackend)."""
    if painting is None:
        return model
    try:
        arbitrary = model.suffix == ".onnx" and is_arbitrary(onnx_metadata(model))
    except Exception:  # not ONNX: the backend that loads it says so, naming the file
        arbitrary = False
    if not arbitrary:
        raise FstError(f"{model} is the network of its own style(s); a painting needs the arbitrary-style model "
                       "(--model arbitrary, the default with --painting)")  # fmt: skip
    return painting_model(model, painting, strength)
