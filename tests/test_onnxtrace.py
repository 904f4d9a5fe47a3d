"""Tracing to ONNX: the padding's shape arithmetic folded away, PyTorch's numbers on a size not traced with, and a
graph made portable (IR version, opsets, dim names, no trace notes)."""

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from fst.onnxtrace import IR_VERSION, make_portable, trace_graph


def padded_conv() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.ReflectionPad2d(2), nn.Conv2d(3, 4, 5), nn.InstanceNorm2d(4, affine=True)).eval()


def traced(module: nn.Module) -> onnx.ModelProto:
    dynamic = {name: {0: "batch", 2: "height", 3: "width"} for name in ("image", "stylized")}
    return trace_graph(module, (torch.rand(1, 3, 16, 16),), ["image"], ["stylized"], dynamic)


def test_the_traced_graph_has_no_shape_arithmetic_and_matches_pytorch_on_another_size():
    module = padded_conv()
    proto = traced(module)
    ops = {node.op_type for node in proto.graph.node}
    assert not ops & {"Shape", "Gather", "Concat", "Slice", "Unsqueeze", "ConstantOfShape"}, ops
    image = torch.rand(2, 3, 21, 30)
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": image.numpy()})[0]
    with torch.no_grad():
        expected = module(image).numpy()
    assert got.shape == (2, 4, 21, 30)
    assert np.abs(got - expected).max() < 1e-4


def test_make_portable_lowers_the_ir_keeps_the_used_opsets_and_names_the_dims():
    proto = traced(padded_conv())
    proto.opset_import.add(domain="com.microsoft", version=1)  # as the quantizer adds, unused here
    proto.graph.node[0].metadata_props.add(key="source", value="/home/someone/fst/transformer.py:40")
    proto.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "floor(height/4)*4"
    make_portable(proto, None)
    assert proto.ir_version == IR_VERSION == 8
    assert {opset.domain for opset in proto.opset_import} <= {"", "ai.onnx"}
    for value in (proto.graph.input[0], proto.graph.output[0]):
        assert [d.dim_param for d in value.type.tensor_type.shape.dim] == ["batch", "", "height", "width"]
    assert all(len(node.metadata_props) == 0 for node in proto.graph.node)
    onnx.checker.check_model(proto, full_check=True)


def test_a_static_graph_keeps_its_fixed_dims():
    module = padded_conv()
    proto = trace_graph(module, (torch.rand(1, 3, 12, 20),), ["image"], ["stylized"], None)
    make_portable(proto, (12, 20))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 12, 20]
