import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from fst.errors import FstError
from fst.onnxrun import onnx_session
from fst.onnxstats import with_norm_stat_inputs, with_norm_stat_outputs


def one_norm() -> onnx.ModelProto:
    """y = InstanceNormalization(x) with a scale of 2 and a shift of 1 on each of 2 channels, epsilon 1e-5."""
    scale = numpy_helper.from_array(np.full(2, 2, np.float32), "s")
    bias = numpy_helper.from_array(np.ones(2, np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=1e-5)], "norm",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 2, 2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2, 2, 2])], [scale, bias],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


def test_the_statistics_come_out_and_go_back_in():
    x = np.array([[[[1, 2], [3, 6]], [[0, 0], [0, 4]]]], np.float32)  # means 3 and 1, variances 3.5 and 3
    mean, var = onnx_session(with_norm_stat_outputs(one_norm())).run(None, {"x": x})[1:]
    assert mean.ravel().tolist() == [3, 1] and var.ravel().tolist() == [3.5, 3]
    zeros, ones = np.zeros((1, 2, 1, 1), np.float32), np.ones((1, 2, 1, 1), np.float32)
    given = {"x": x, "fst_norm0_mean": zeros, "fst_norm0_var": ones}
    (y,) = onnx_session(with_norm_stat_inputs(one_norm())).run(None, given)
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-5) * 2 + 1, rtol=1e-6)  # (x - 0) / sqrt(1 + eps) * 2 + 1


def test_a_graph_without_instance_norms_cannot_be_tiled():
    model = one_norm()
    model.graph.node[0].op_type = "Identity"
    del model.graph.node[0].input[1:]
    with pytest.raises(FstError, match="has no InstanceNormalization nodes, so it cannot be tiled"):
        with_norm_stat_outputs(model)
