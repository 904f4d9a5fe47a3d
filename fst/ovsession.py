"""An exported network compiled by OpenVINO for the CPU, behind onnxruntime's session interface (`run`,
`get_inputs`, `get_outputs`), so that fst.backends runs, checks and tiles it as it does an onnxruntime session.

OpenVINO reads fst's .onnx files as they are. Two settings matter: the latency hint (one picture at a time, all
cores on it) and fp32 inference precision, since on CPUs with bf16 arithmetic OpenVINO's default is bf16, which
moves pixels by up to 7 levels; in fp32 its output is within 2e-5 of onnxruntime's. The compiled model keeps the
file's dynamic height and width: measured as fast as one compiled for a fixed size.

For video frames a second compiled model takes and gives uint8 H x W x 3 (`frames`): the conversion to float,
the layout change and the rounding back to 8 bits run inside the compiled graph (OpenVINO's preprocessing), where
numpy's copies cost 5 ms of a 22 ms 640x360 frame. Frames that do not depend on each other (a video frame by frame)
can also run several at once, each on a stream of its own (OpenVINO's throughput hint: one stream per core or
group of cores). On two cores, two realtime-network frames at a time, each on one core, pass about as many frames
a second as one at a time on both when nothing else runs, and 16% more in a video at 640x360, where decoding and
encoding threads take cycles from the cores: a frame on one core does not wait at every layer for the other.

Compiling takes 0.12 to 0.15 s a model; OpenVINO keeps what it compiled in fst's cache folder (compile_cache) and
reads it back the next time in 0.02 to 0.04 s, so a run's start-up pays it once per model and machine.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fst.files import cache_folder

CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
STREAMED = {**CONFIG, "PERFORMANCE_HINT": "THROUGHPUT"}


def compile_cache() -> dict[str, str]:
    """OpenVINO's CACHE_DIR in this user's own cache folder (made private), or nothing where that cannot be
    written: never a shared folder, where another user could leave a compiled model to be run."""
    folder = cache_folder() / "openvino"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return {}
    mine = folder.stat().st_uid == os.getuid() and not folder.is_symlink() and os.access(folder, os.W_OK)
    return {"CACHE_DIR": str(folder)} if mine else {}


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
        self.model = core.read_model(source)
        self.compiled = core.compile_model(self.model, "CPU", {**CONFIG, **compile_cache()})
        self.request = self.compiled.create_infer_request()
        self.lock = threading.Lock()  # for the requests of one at a time: a video's frames may come from threads
        self.uint8 = None  # the frames model, one frame at a time on every core: compiled on first use
        self.streams: queue.Queue | None = None  # the idle requests of the frames model that runs several at once
        self.stream_total = 0

    def get_inputs(self) -> list[Port]:
        return [_port(p) for p in self.compiled.inputs]

    def get_outputs(self) -> list[Port]:
        return [_port(p) for p in self.compiled.outputs]

    def run(self, _names: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Every output, in the model's order, as arrays of their own (the request's buffers are reused)."""
        with self.lock:
            results = self.request.infer(feeds)
            return [results[port] for port in self.compiled.outputs]

    def frames(
        self, images: np.ndarray, feeds: dict[str, np.ndarray], streamed: bool = False
    ) -> tuple[np.ndarray, bool]:
        """The network on (N, H, W, 3) uint8 RGB, H and W multiples of 4, giving (N, H, W, 3) uint8, rounded to
        the nearest level as fst.images.from_array rounds, and whether every value it computed was finite (NaN
        would come out as a black picture); `feeds`: the other inputs (a blend's `style`). streamed: on one of
        the streams (stream_count), from any number of threads: each waits for a free stream."""
        if not streamed:
            with self.lock:
                if self.uint8 is None:
                    self.uint8 = self._uint8_model(CONFIG).create_infer_request()
                return self._infer(self.uint8, images, feeds)
        self.stream_count()
        request = self.streams.get()  # waits while every stream is busy
        try:
            return self._infer(request, images, feeds)
        finally:
            self.streams.put(request)

    def stream_count(self) -> int:
        """How many frames the streamed frames model runs at once (OpenVINO's choice for this CPU), compiled on
        first use."""
        with self.lock:
            if self.streams is None:
                compiled = self._uint8_model(STREAMED)
                self.stream_total = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
                self.streams = queue.Queue()
                for _ in range(self.stream_total):
                    self.streams.put(compiled.create_infer_request())
            return self.stream_total

    @staticmethod
    def _infer(request, images: np.ndarray, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, bool]:
        pictures, finite = request.infer({"image": images, **feeds}).values()  # copies: the request is reused
        return pictures, bool(finite == 1)

    def _uint8_model(self, config: dict[str, str]):
        import openvino
        import openvino.opset13 as ops
        from openvino.preprocess import PrePostProcessor

        model = self.model.clone()
        stylized = model.get_results()[0].input_value(0)  # the float picture, before any conversion
        everywhere = np.arange(len(stylized.get_partial_shape()), dtype=np.int64)
        model.add_outputs([ops.reduce_min(ops.convert(ops.is_finite(stylized), "f32"), everywhere).output(0)])
        ppp = PrePostProcessor(model)
        image = ppp.input("image")
        image.tensor().set_element_type(openvino.Type.u8).set_layout(openvino.Layout("NHWC"))
        image.model().set_layout(openvino.Layout("NCHW"))
        image.preprocess().convert_element_type(openvino.Type.f32).scale(255.0)
        stylized = ppp.output(0)
        stylized.model().set_layout(openvino.Layout("NCHW"))

        def levels(node):
            """x 255 + 0.5, clamped to 0..255: the conversion to uint8 truncates it to the nearest level."""
            return ops.clamp(ops.add(ops.multiply(node, np.float32(255)), np.float32(0.5)), 0.0, 255.0).output(0)

        stylized.postprocess().custom(levels)
        stylized.postprocess().convert_element_type(openvino.Type.u8)
        stylized.tensor().set_layout(openvino.Layout("NHWC"))
        return openvino.Core().compile_model(ppp.build(), "CPU", {**config, **compile_cache()})
