"""A PyTorch module as an ONNX graph that every common runtime loads: traced, its shape arithmetic folded into
constants, then made portable (lowest IR version, only the opsets used, named dims, no trace notes). The exports of
both kinds of network (fst.export, fst.export_arbitrary) go through here and verify the result themselves."""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

OPSET = 18
IR_VERSION = 8  # the lowest IR version opset 18 allows


def trace_graph(module: nn.Module, inputs: tuple[torch.Tensor, ...], input_names, output_names, dynamic):
    """The graph of `module` from PyTorch's TorchScript-based exporter (under a second; the dynamo-based one takes
    40), with onnxruntime's basic, provider-independent optimizations applied offline: they fold the exporter's
    shape arithmetic around each padding into constants, leaving plain standard operators. The callers verify the
    result against PyTorch either way."""
    import onnx
    import onnxruntime

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notices and instance-norm training-mode notes
        torch.onnx.export(
            module, inputs, buffer, input_names=list(input_names), output_names=list(output_names),
            dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory() as folder:
        options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
        onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath)


def make_portable(proto, static: tuple[int, int] | None) -> None:
    """Lowest IR version; only the opsets the nodes use (the quantizer adds a dozen, one of which onnxruntime 1.16
    refuses); input and output dims named batch/height/width rather than the exporter's shape formulas, which
    JavaScript runtimes show as they are; no per-node trace notes (they hold source paths)."""
    proto.ir_version = IR_VERSION
    used = {node.domain for node in proto.graph.node}
    kept = [opset for opset in proto.opset_import if opset.domain in used or opset.domain in ("", "ai.onnx")]
    del proto.opset_import[:]
    proto.opset_import.extend(kept)
    if not static:
        for value in (proto.graph.input[0], proto.graph.output[0]):
            dims = value.type.tensor_type.shape.dim
            for index, name in ((0, "batch"), (2, "height"), (3, "width")):
                dims[index].Clear()
                dims[index].dim_param = name
    del proto.graph.value_info[:]
    for node in proto.graph.node:
        del node.metadata_props[:]
