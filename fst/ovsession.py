"""An exported network compiled by OpenVINO for the CPU, behind onnxruntime's session interface (`run`,
`get_inputs`, `get_outputs`), so that fst.backends runs, checks and tiles it as it does an onnxruntime session.

OpenVINO reads fst's .onnx files as they are. Two settings matter: the latency hint (one picture at a time, all
cores on it) and fp32 inference precision, since on CPUs with bf16 arithmetic OpenVINO's default is bf16, which
moves pixels by up to 7 levels; in fp32 its output is within 2e-5 of onnxruntime's. The compiled model keeps the
file's dynamic height and width: measured as fast as one compiled for a fixed size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}


@dataclass(frozen=True)
class Port:
    """An input or output as onnxruntime describes one (its NodeArg): a name, "tensor(float)", and a shape of
    whole numbers where fixed and "?" where not."""

    name: str
    type: str
    shape: list


def _port(port) -> Port:
    import openvino

    kind = "tensor(float)" if port.get_element_type() == openvino.Type.f32 else str(port.get_element_type())
    shape = [d.get_length() if d.is_static else "?" for d in port.get_partial_shape()]
    return Port(port.get_any_name(), kind, shape)


class OpenVinoSession:
    """model: a path or an in-memory ModelProto (a rewritten copy for tiles)."""

    def __init__(self, model) -> None:
        import openvino

        core = openvino.Core()
        source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
        self.compiled = core.compile_model(core.read_model(source), "CPU", CONFIG)
        self.request = self.compiled.create_infer_request()

    def get_inputs(self) -> list[Port]:
        return [_port(p) for p in self.compiled.inputs]

    def get_outputs(self) -> list[Port]:
        return [_port(p) for p in self.compiled.outputs]

    def run(self, _names: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Every output, in the model's order, as arrays of their own (the request's buffers are reused)."""
        results = self.request.infer(feeds)
        return [results[port] for port in self.compiled.outputs]
