"""An ONNX file read straight from its protobuf encoding, without the onnx package: the metadata, the graph's nodes,
initializers and inputs, and tensors as numpy arrays. Importing onnx costs about half a second (ml_dtypes), more
than stylizing a photo with a realtime network, and every run reads a model's metadata; this reads only the fields
fst uses, with the names onnx gives them, so that code written against onnx's ModelProto reads these the same way.

The wire format (protobuf.dev/programming-guides/encoding): each field a varint key (number << 3 | wire type)
followed by a varint (type 0), 8 bytes (1), a varint length and that many bytes (2: strings, bytes, sub-messages,
packed numbers) or 4 bytes (5). Field numbers are onnx.proto's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# TensorProto.data_type -> numpy dtype (onnx.proto's DataType)
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
          10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}  # fmt: skip
PACKED = {4: np.float32, 10: np.float64}  # float_data, double_data: fixed-width values, packed
VARINTS = (5, 7, 11)  # int32_data, int64_data, uint64_data: varints, packed or not


class WireError(ValueError):
    """The bytes are not a protobuf message of the shape expected."""


def varint(data: memoryview, pos: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError(f"a varint runs past the end or over 64 bits at byte {pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field of a message: an int for a varint, the bytes otherwise."""
    pos = 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos : pos + size], pos + size
        elif wire == 2:
            length, pos = varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise WireError(f"wire type {wire} of field {number} at byte {pos}: not one protobuf writes")
        if pos > len(data) or number == 0:
            raise WireError(f"field {number} runs past the end of its message")
        yield number, wire, value


def text(value: memoryview) -> str:
    return bytes(value).decode("utf-8")


def signed(value: int) -> int:
    """An int64 field's varint as the signed number it encodes (two's complement over 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def numbers(wire: int, value: int | memoryview) -> list[int]:
    """The values of a repeated integer field's one occurrence: one varint, or a packed run of them."""
    if wire == 0:
        return [signed(value)]
    found, pos = [], 0
    while pos < len(value):
        number, pos = varint(value, pos)
        found.append(signed(number))
    return found


@dataclasses.dataclass
class Entry:
    key: str = ""
    value: str = ""


@dataclasses.dataclass
class Tensor:
    name: str = ""
    dims: list[int] = dataclasses.field(default_factory=list)
    data_type: int = 0
    raw_data: memoryview | None = None
    values: list = dataclasses.field(default_factory=list)  # float_data, int32_data, int64_data, ... as read
    external: bool = False

    def array(self) -> np.ndarray:
        """The tensor's values, shaped by its dims."""
        if self.external:
            raise WireError(f"tensor {self.name!r} keeps its data in another file; fst's exports hold theirs")
        if self.data_type not in DTYPES:
            raise WireError(f"tensor {self.name!r} has data type {self.data_type}, which fst does not read")
        dtype = np.dtype(DTYPES[self.data_type]).newbyteorder("<")
        if self.raw_data is not None:
            flat = np.frombuffer(self.raw_data, dtype=dtype)
        elif self.data_type == 10:  # float16 is stored as the bits of each value in int32_data
            flat = np.array(self.values, dtype=np.uint16).view(np.float16)
        else:
            flat = np.array(self.values, dtype=dtype)
        if flat.size != int(np.prod(self.dims, dtype=np.int64)):
            raise WireError(f"tensor {self.name!r}: {flat.size} values for dims {self.dims}")
        return flat.reshape(self.dims).astype(dtype.newbyteorder("="), copy=True)


def tensor(data: memoryview) -> Tensor:
    found = Tensor()
    for number, wire, value in fields(data):
        if number == 1:
            found.dims += numbers(wire, value)
        elif number == 2:
            found.data_type = value
        elif number == 8:
            found.name = text(value)
        elif number == 9:
            found.raw_data = value
        elif number in PACKED:
            found.values += np.frombuffer(value, dtype=np.dtype(PACKED[number]).newbyteorder("<")).tolist()
        elif number in VARINTS:
            found.values += numbers(wire, value)
        elif number == 14:
            found.external = value == 1
    return found


@dataclasses.dataclass
class Attribute:
    name: str = ""
    i: int = 0
    t: Tensor | None = None


@dataclasses.dataclass
class Node:
    input: list[str] = dataclasses.field(default_factory=list)
    output: list[str] = dataclasses.field(default_factory=list)
    op_type: str = ""
    attribute: list[Attribute] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ValueInfo:
    name: str = ""


@dataclasses.dataclass
class Graph:
    node: list[Node] = dataclasses.field(default_factory=list)
    initializer: list[Tensor] = dataclasses.field(default_factory=list)
    input: list[ValueInfo] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Model:
    ir_version: int = 0
    metadata_props: list[Entry] = dataclasses.field(default_factory=list)
    graph: Graph | None = None


def message(data: memoryview, kind: type, read: dict) -> object:
    """A message of dataclass `kind` whose fields `read` maps: field number -> (attribute, how to read a value);
    repeated fields (list attributes) collect every occurrence, the others keep the last."""
    found = kind()
    for number, _, value in fields(data):
        if number in read:
            name, how = read[number]
            if isinstance(getattr(found, name), list):
                getattr(found, name).append(how(value))
            else:
                setattr(found, name, how(value))
    return found


def attribute(data: memoryview) -> Attribute:
    return message(data, Attribute, {1: ("name", text), 3: ("i", signed), 5: ("t", tensor)})


def node(data: memoryview) -> Node:
    read = {1: ("input", text), 2: ("output", text), 4: ("op_type", text), 5: ("attribute", attribute)}
    return message(data, Node, read)


def value_info(data: memoryview) -> ValueInfo:
    return message(data, ValueInfo, {1: ("name", text)})


def graph(data: memoryview) -> Graph:
    return message(data, Graph, {1: ("node", node), 5: ("initializer", tensor), 11: ("input", value_info)})


def entry(data: memoryview) -> Entry:
    return message(data, Entry, {1: ("key", text), 2: ("value", text)})


def read_model(path: str | Path, with_graph: bool = True) -> Model:
    """The model in an ONNX file: its metadata, and its graph unless with_graph is False (then only the metadata is
    decoded, the graph's bytes skipped). WireError for bytes that are not an ONNX model."""
    data = memoryview(Path(path).read_bytes())
    read = {1: ("ir_version", int), 14: ("metadata_props", entry)} | ({7: ("graph", graph)} if with_graph else {})
    model = message(data, Model, read)
    if model.ir_version <= 0 or (with_graph and model.graph is None):
        raise WireError("no IR version or no graph: not an ONNX model")
    return model
