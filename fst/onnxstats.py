"""Rewritten copies of an exported network for tiling (fst.tiling): one that also outputs the mean and variance
that each instance norm computes, and one whose instance norms take them as inputs instead, so that every tile is
normalized with the statistics of the whole image's thumbnail. Plain ONNX operators, so any runtime runs them."""

from __future__ import annotations

from fst.errors import FstError


def _norm_nodes(proto) -> list:
    nodes = [n for n in proto.graph.node if n.op_type == "InstanceNormalization"]
    if not nodes:
        raise FstError("this ONNX model has no InstanceNormalization nodes, so it cannot be tiled; run it whole")
    return nodes


def _axes_constant(graph, name: str, axes: list[int]) -> str:
    """An int64 initializer holding `axes`, for the Reduce and Unsqueeze nodes added here; returns its name."""
    from onnx import helper

    graph.initializer.append(helper.make_tensor(name, 7, [len(axes)], axes))  # 7: int64
    return name


def with_norm_stat_outputs(proto):
    """A copy of the model that also outputs the mean and variance of every instance norm's input."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    axes = _axes_constant(graph, "fst_hw_axes", [2, 3])
    for i, node in enumerate(_norm_nodes(model)):
        x, mean, var = node.input[0], f"fst_norm{i}_mean", f"fst_norm{i}_var"
        graph.node.extend(
            [
                helper.make_node("ReduceMean", [x, axes], [mean], keepdims=1),
                helper.make_node("Sub", [x, mean], [f"fst_norm{i}_centered"]),
                helper.make_node("Mul", [f"fst_norm{i}_centered"] * 2, [f"fst_norm{i}_squared"]),
                helper.make_node("ReduceMean", [f"fst_norm{i}_squared", axes], [var], keepdims=1),
            ]
        )
        for name in (mean, var):
            graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model


def with_norm_stat_inputs(proto):
    """A copy of the model whose instance norms use given statistics (inputs fst_normI_mean/var) instead of their
    own: y = (x - mean) / sqrt(var + eps) * scale + bias."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    _norm_nodes(model)  # raises if there are none
    unsqueeze_axes = _axes_constant(graph, "fst_unsqueeze_axes", [1, 2])
    nodes = []
    i = -1
    for node in graph.node:
        if node.op_type != "InstanceNormalization":
            nodes.append(node)
            continue
        i += 1
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        x, scale, bias = node.input
        p = f"fst_norm{i}_"
        graph.initializer.append(helper.make_tensor(p + "eps", onnx.TensorProto.FLOAT, [], [eps]))
        for name in ("mean", "var"):
            graph.input.append(helper.make_tensor_value_info(p + name, onnx.TensorProto.FLOAT, [None, None, 1, 1]))
        nodes += [
            helper.make_node("Sub", [x, p + "mean"], [p + "centered"]),
            helper.make_node("Add", [p + "var", p + "eps"], [p + "var_eps"]),
            helper.make_node("Sqrt", [p + "var_eps"], [p + "std"]),
            helper.make_node("Div", [p + "centered", p + "std"], [p + "normalized"]),
            helper.make_node("Unsqueeze", [scale, unsqueeze_axes], [p + "scale"]),
            helper.make_node("Unsqueeze", [bias, unsqueeze_axes], [p + "bias"]),
            helper.make_node("Mul", [p + "normalized", p + "scale"], [p + "scaled"]),
            helper.make_node("Add", [p + "scaled", p + "bias"], [node.output[0]]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    return model
