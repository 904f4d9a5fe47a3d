"""The low-resolution half of guided upsampling (fst.guided) as an ONNX graph: what the browser demo's webcam view
runs (web/guided.onnx, in the same WebAssembly runtime as the network, its threads and vector instructions
included) to fit the network's picture of a small copy of each frame to that copy's luminance. The page then brings
the fits up to the frame's size and applies them in one pass of JavaScript (web/guided.js). In JavaScript alone the
fits took as long as the network on the small copy.

The graph is fst.guided.linear_fits step for step: the small copy's luminance, window means over the pixels inside
the picture (AveragePool without the padding counted), the linear fits and their means. write_web_file() writes
web/guided.onnx; tests/test_guided_graph.py holds that file to what this module makes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fst.guided import EPS, LUMA, RADIUS
from fst.onnxtrace import IR_VERSION, OPSET

WEB_FILE = Path(__file__).resolve().parent.parent / "web" / "guided.onnx"


class Builder:
    """The nodes and constants of a graph as it is written, each value named by the node that makes it."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.constants: dict = {}

    def const(self, name: str, value) -> str:
        from onnx import numpy_helper

        self.constants[name] = numpy_helper.from_array(np.asarray(value), name)
        return name

    def node(self, op: str, inputs: list[str], output: str | list[str], **attributes) -> str:
        from onnx import helper

        outputs = [output] if isinstance(output, str) else output
        self.nodes.append(helper.make_node(op, inputs, outputs, **attributes))
        return outputs[0]


def linear_fits(g: Builder, radius: int, eps: float) -> str:
    """fst.guided.linear_fits on the small copy's luminance and the stylized picture: (1, 6, h, w), the slopes of R,
    G, B then their offsets, each averaged over the windows that cover its pixel."""
    window = {"kernel_shape": [2 * radius + 1] * 2, "pads": [radius] * 4, "count_include_pad": 0}
    luma = g.const("luma", LUMA.reshape(1, 3, 1, 1).astype(np.float32))
    weighted = g.node("Mul", ["small", luma], "weighted")
    guide = g.node("ReduceSum", [weighted, g.const("channel_axis", np.array([1]))], "guide", keepdims=1)
    square, products = g.node("Mul", [guide, guide], "square"), g.node("Mul", [guide, "stylized"], "products")
    inputs = g.node("Concat", [guide, square, "stylized", products], "inputs", axis=1)
    means = g.node("AveragePool", [inputs], "means", **window)
    g.node("Split", [means, g.const("split", np.array([1, 1, 3, 3]))],
           ["mean_guide", "mean_square", "mean_stylized", "mean_products"], axis=1)  # fmt: skip
    variance = g.node("Sub", ["mean_square", g.node("Mul", ["mean_guide", "mean_guide"], "mean_guide_sq")], "var")
    covariance = g.node("Sub", ["mean_products", g.node("Mul", ["mean_guide", "mean_stylized"], "cross")], "cov")
    slope = g.node("Div", [covariance, g.node("Add", [variance, g.const("eps", np.float32(eps))], "var_eps")], "slope")
    offset = g.node("Sub", ["mean_stylized", g.node("Mul", [slope, "mean_guide"], "slope_guide")], "offset")
    return g.node("AveragePool", [g.node("Concat", [slope, offset], "slope_offset", axis=1)], "fits", **window)


def guided_graph(radius: int = RADIUS, eps: float = EPS):
    """The ModelProto. Inputs: `small` (1, 3, h, w) float32 in [0, 1], the copy the network ran on, and `stylized`
    (1, 3, h, w), the network's picture of it. Output: `fits` (1, 6, h, w), as linear_fits."""
    from onnx import TensorProto, helper

    g = Builder()
    linear_fits(g, radius, eps)
    picture = [1, 3, "h", "w"]
    graph = helper.make_graph(
        g.nodes, "guided_upsampling_fits",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, picture) for name in ("small", "stylized")],
        [helper.make_tensor_value_info("fits", TensorProto.FLOAT, [1, 6, "h", "w"])],
        initializer=list(g.constants.values()),
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fst")
    model.ir_version = IR_VERSION
    return model


def write_web_file(target: Path = WEB_FILE) -> None:
    """Write the graph where the page loads it from (tests/test_guided_graph.py says when it is out of date)."""
    target.write_bytes(guided_graph().SerializeToString())
