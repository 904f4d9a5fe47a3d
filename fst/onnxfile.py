"""An exported network as a file: its metadata and its weights, read with numpy alone (fst.onnxwire: no PyTorch, no
onnx package), so that an install for inference can tell at once which network a file holds and which copies were
made from it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fst.errors import FstError
from fst.onnxwire import Model, read_model


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """An ONNX file's metadata_props (style, precision, made_from, ...) as a dict, its graph left unread; FstError
    for a file that is missing or not ONNX."""
    return proto_metadata(read_onnx(path, with_graph=False))


def proto_metadata(proto) -> dict[str, str]:
    """The metadata_props of an ONNX model already read (onnx's ModelProto or fst.onnxwire's Model) as a dict."""
    return {p.key: p.value for p in proto.metadata_props}


def read_onnx(path: str | Path, with_graph: bool = True) -> Model:
    """An ONNX file's metadata and graph (fst.onnxwire, names as onnx's), or FstError naming the file."""
    if not Path(path).is_file():
        raise FstError(f"model not found: {path}")
    try:
        return read_model(path, with_graph)
    except (OSError, ValueError) as e:  # WireError and UnicodeDecodeError are ValueErrors
        raise FstError(f"{path} is not a readable ONNX model ({e})") from None


def is_arbitrary(metadata: dict[str, str]) -> bool:
    """Whether an export's metadata says it is an arbitrary-style model (its inputs take a painting's statistics,
    fst.arbitrary)."""
    return metadata.get("kind") == "arbitrary"


def load_onnx(path: str | Path):
    """The ModelProto of an fst export, or FstError naming the file."""
    import onnx

    if not Path(path).is_file():
        raise FstError(f"model not found: {path}")
    try:
        return onnx.load(str(path))
    except Exception as e:  # protobuf raises its own DecodeError, or others, for a file that is not ONNX
        raise FstError(f"{path} is not a readable ONNX model ({type(e).__name__})") from None


def layer_weights(proto: Model) -> list[tuple[str, list[np.ndarray]]]:
    """(op type, its weights) of each Conv and InstanceNormalization node, in graph order: a Conv's kernel and
    bias if any, an instance norm's scale and bias. This is the order of the network's layers, and of its
    state_dict. Read by node, not by initializer name: the exporter may merge equal initializers or rename them.

    A network of several styles (an input `style`) keeps its norms' scales and shifts in one table, multiplied by
    the style weights (a MatMul): that table comes first, as in its state_dict, and the norms' own constant ones
    and zeros are not weights. Only the tensors these layers take are decoded."""
    tensors = {t.name: t for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].t is not None:
            tensors[node.output[0]] = node.attribute[0].t
    several = "style" in [i.name for i in proto.graph.input]
    ops = ("Conv",) if several else ("Conv", "InstanceNormalization")
    layers = [(n.op_type, [tensors[name].array() for name in n.input[1:] if name in tensors]) for n in proto.graph.node
              if n.op_type in ops]  # fmt: skip
    layers = [(op, weights) for op, weights in layers if not (op == "Conv" and is_pixel_fold(weights))]
    if not several:
        return layers
    tables = [n for n in proto.graph.node if n.op_type == "MatMul" and n.input[1] in tensors]
    if len(tables) != 1:
        raise FstError(f"a model with a style input holds {len(tables)} style tables, expected 1")
    return [("MatMul", [tensors[tables[0].input[1]].array()]), *layers]


def is_pixel_fold(weights: list[np.ndarray]) -> bool:
    """Whether a Conv's weights are those of fst.export.PixelFold: 0 and 1, no bias, each output channel one pixel
    of a block of the image. That is how the realtime network's first step (PixelUnshuffle) is exported, not a
    learned layer: no network learns exactly these."""
    kernel = weights[0] if len(weights) == 1 else None
    if kernel is None or kernel.ndim != 4 or kernel.shape[0] != np.prod(kernel.shape[1:]):
        return False
    return bool(np.array_equal(kernel, np.eye(kernel.shape[0]).reshape(kernel.shape)))


def digest(tensors: Iterable[np.ndarray]) -> str:
    """sha256 of the tensors' shapes and float32 values, in order."""
    result = hashlib.sha256()
    for tensor in tensors:
        array = np.ascontiguousarray(tensor, dtype=np.float32)
        result.update(str(array.shape).encode())
        result.update(array.tobytes())
    return result.hexdigest()


def onnx_weights_digest(path: str | Path) -> str:
    """fst.checkpoint.weights_digest of the network an fp32 export holds, without building the network."""
    return digest(w for _, weights in layer_weights(read_onnx(path)) for w in weights)
