"""ONNX files read from their protobuf bytes (fst.onnxwire) as the onnx package reads them: the same metadata, nodes,
initializers and arrays, on fst's exports of every kind and on hand-made bytes."""

import numpy as np
import onnx
import pytest
import torch
from conftest import REPO
from onnx import helper, numpy_helper

from fst.errors import FstError
from fst.export import export_onnx
from fst.onnxfile import onnx_metadata, read_onnx
from fst.onnxwire import WireError, fields, read_model, varint
from fst.transformer import TransformerNet


def same_as_onnx(path) -> None:
    """Every field fst reads, compared with onnx's reading of the same file."""
    ours, theirs = read_model(path), onnx.load(str(path))
    assert [(p.key, p.value) for p in ours.metadata_props] == [(p.key, p.value) for p in theirs.metadata_props]
    assert [i.name for i in ours.graph.input] == [i.name for i in theirs.graph.input]
    assert len(ours.graph.node) == len(theirs.graph.node)
    for mine, node in zip(ours.graph.node, theirs.graph.node):
        assert (mine.op_type, mine.input, mine.output) == (node.op_type, list(node.input), list(node.output))
        assert [(a.name, a.i) for a in mine.attribute] == [(a.name, a.i) for a in node.attribute]
        for a, b in zip(mine.attribute, node.attribute):
            if b.HasField("t"):
                np.testing.assert_array_equal(a.t.array(), numpy_helper.to_array(b.t))
    assert [t.name for t in ours.graph.initializer] == [t.name for t in theirs.graph.initializer]
    for mine, tensor in zip(ours.graph.initializer, theirs.graph.initializer):
        expected = numpy_helper.to_array(tensor)
        assert mine.array().dtype == expected.dtype
        np.testing.assert_array_equal(mine.array(), expected)


@pytest.mark.parametrize(("architecture", "styles"), [("johnson", 1), ("realtime", 1), ("johnson", 3)])
def test_an_export_reads_as_onnx_reads_it(tmp_path, architecture, styles):
    torch.manual_seed(0)
    export_onnx(TransformerNet(8, 1, architecture, styles).eval(), tmp_path / "m.onnx", {"style": "s", "é": "ü"})
    same_as_onnx(tmp_path / "m.onnx")
    assert onnx_metadata(tmp_path / "m.onnx")["é"] == "ü"


def test_the_shipped_exports_read_as_onnx_reads_them():
    """Every file of exports/: fp32, int8 (integer initializers), realtime, several styles, any painting."""
    for path in sorted((REPO / "exports").glob("*.onnx")):
        same_as_onnx(path)


def test_tensors_of_each_encoding_come_back_as_numpy_arrays(tmp_path):
    """raw_data, float_data, int64_data with negative values, float16 bits in int32_data, and a scalar."""
    tensors = [
        numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "raw"),
        helper.make_tensor("floats", onnx.TensorProto.FLOAT, [2, 2], [1.5, -2.0, 3.25, 0.0]),
        helper.make_tensor("longs", onnx.TensorProto.INT64, [3], [-1, 2**40, 0]),
        helper.make_tensor("halves", onnx.TensorProto.FLOAT16, [2], np.array([0.5, -1.0], np.float16)),
        helper.make_tensor("scalar", onnx.TensorProto.INT32, [], [7]),
    ]
    graph = helper.make_graph([], "g", [], [], initializer=tensors)
    onnx.save(helper.make_model(graph), tmp_path / "t.onnx")
    read = {t.name: t.array() for t in read_model(tmp_path / "t.onnx").graph.initializer}
    np.testing.assert_array_equal(read["raw"], np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(read["floats"], [[1.5, -2.0], [3.25, 0.0]])
    assert read["longs"].tolist() == [-1, 2**40, 0] and read["longs"].dtype == np.int64
    assert read["halves"].tolist() == [0.5, -1.0] and read["halves"].dtype == np.float16
    assert read["scalar"].shape == () and read["scalar"] == 7


def test_the_wire_format_by_hand():
    """protobuf's own example: field 1, varint 150 is 08 96 01; a string field is its length and bytes."""
    assert varint(memoryview(b"\x96\x01"), 0) == (150, 2)
    found = list(fields(memoryview(b"\x08\x96\x01\x12\x03abc")))
    assert found[0] == (1, 0, 150) and (found[1][0], found[1][1], bytes(found[1][2])) == (2, 2, b"abc")
    for broken in (b"\x08\x96", b"\x12\x05abc", b"\x0b", b"\x00\x01"):  # cut varint, cut string, group, field 0
        with pytest.raises(WireError):
            list(fields(memoryview(broken)))


def test_a_file_that_is_not_onnx_is_one_line_naming_it(tmp_path):
    (tmp_path / "x.onnx").write_text("not a model")
    (tmp_path / "cut.onnx").write_bytes((REPO / "exports" / "wave-fast.onnx").read_bytes()[:5000])
    (tmp_path / "empty.onnx").write_bytes(b"")
    for name in ("x.onnx", "cut.onnx", "empty.onnx"):
        with pytest.raises(FstError, match=rf"{name} is not a readable ONNX model \("):
            read_onnx(tmp_path / name)
    with pytest.raises(FstError, match=r"empty.onnx is not a readable ONNX model \("):
        onnx_metadata(tmp_path / "empty.onnx")
    with pytest.raises(FstError, match="model not found: .*missing.onnx"):
        onnx_metadata(tmp_path / "missing.onnx")
