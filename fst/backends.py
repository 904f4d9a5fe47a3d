"""The two ways to run a trained network: an exported .onnx file (onnxruntime) or a training checkpoint (PyTorch).

Both take and return numpy float32 NCHW RGB in [0, 1] of any size; onnxruntime alone runs an export, so an install
without PyTorch runs every shipped style (PyTorch is imported only for a checkpoint or a GPU). An exported graph
takes sides that are multiples of 4 (fst.export says why), so images are padded for it here and its output cropped
back. For tiling (fst.tiling) each can also report the statistics of its instance norms and run with given
statistics instead of its own: hooks in PyTorch, a rewritten copy of the graph in ONNX (fst.onnxstats).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Protocol

import numpy as np

from fst.architectures import SIDE_MULTIPLE
from fst.blend import checkpoint_styles, metadata_styles
from fst.devices import cuda_providers
from fst.errors import FstError
from fst.onnxfile import is_arbitrary, onnx_metadata, proto_metadata, read_onnx
from fst.onnxrun import check_fst_model, check_style_input, fixed_size, onnx_session, run_failed, run_onnx
from fst.onnxstats import with_norm_stat_inputs, with_norm_stat_outputs
from fst.onnxwire import read_model

Stats = list[tuple[np.ndarray, np.ndarray]]  # (mean, var) at each instance norm, shape (N, C, 1, 1)


class Backend(Protocol):
    """What every way of running a network provides, and all that Stylizer, tiling and video ask of one (a new
    runtime implements these; fst.runtimes.load_backend is the one place that picks and makes a backend)."""

    path: Path
    styles: list[str]  # a network of several styles: their names, in the order of its weights; [] for one style

    def use_style(self, weights: np.ndarray) -> None:
        """Blend a network of several styles with these weights (fst.blend) for every image from now on."""

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """The network on float32 (N, 3, H, W) in [0, 1], any H and W: the same shape back."""

    def norm_stats(self, images: np.ndarray) -> Stats:
        """Each instance norm's (mean, var) on `images`: what tiles share so that they agree (fst.tiling)."""

    def with_stats(self, images: np.ndarray, stats: Stats) -> np.ndarray:
        """The network on `images` with these statistics in place of its own."""


def export_precision(path: Path) -> str:
    """The precision an fst export records (fp32 when it records none, as files of other origin)."""
    try:
        return onnx_metadata(path).get("precision", "fp32")
    except Exception:  # unreadable: OnnxBackend says so, naming the file
        return "fp32"


class TorchBackend:
    """A training checkpoint, or an fp32 export's weights, run by PyTorch; fp16 autocast and channels_last on CUDA."""

    def __init__(self, path: Path, device: str) -> None:
        try:
            import torch
        except ImportError:
            raise FstError(
                f"{path} needs PyTorch, which is not installed (README, Install: PyTorch, then pip install "
                "'.[train]'), or run an .onnx export"
            ) from None
        from fst.checkpoint import load_model, onnx_network

        self.path = path
        if path.suffix == ".onnx":
            proto = read_onnx(path)  # read once, for the weights and the style names
            model = onnx_network(proto, path)
            self.styles = metadata_styles(proto_metadata(proto), path)[0]
        else:
            model, state = load_model(path)
            self.styles = checkpoint_styles(state)[0]  # a network of several styles: their names, in order
        self.device = torch.device(device)
        self.several = model if self.styles else None  # kept whole, so a later blend starts from every style
        self._run(model)

    def use_style(self, weights: np.ndarray) -> None:
        """Blend a network of several styles with these weights (fst.blend), for every image from now on: the
        blend of their norms is itself a network of one style, which the GPU frame path and tiling then run."""
        import torch

        table = self.several.norm_rows()
        self._run(self.several.with_styles(torch.from_numpy(weights)[None].to(table) @ table).eval())

    def _run(self, model) -> None:
        """Run `model` from now on: on the device (channels_last on CUDA), its norms found for tiling's hooks."""
        import torch

        self.model = model.to(self.device)
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self.norms = [m for m in self.model.modules() if isinstance(m, torch.nn.InstanceNorm2d)]

    def __call__(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(self.device)
            if self.device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    return self.model(batch.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()
            return self.model(batch).cpu().numpy()

    def norm_stats(self, images: np.ndarray) -> Stats:
        stats: Stats = []

        def record(_module, args):
            x = args[0].float()
            mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)
            stats.append((mean.cpu().numpy(), var.cpu().numpy()))

        hooks = [norm.register_forward_pre_hook(record) for norm in self.norms]
        try:
            self(images)
        finally:
            for hook in hooks:
                hook.remove()
        return stats

    def with_stats(self, images: np.ndarray, stats: Stats) -> np.ndarray:
        import torch

        pending = iter(stats)

        def replace(module, args, _output):
            mean, var = (torch.from_numpy(s).to(args[0].device) for s in next(pending))
            x = (args[0].float() - mean) / torch.sqrt(var + module.eps)
            return (x * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)).to(args[0].dtype)

        hooks = [norm.register_forward_hook(replace) for norm in self.norms]
        try:
            return self(images)
        finally:
            for hook in hooks:
                hook.remove()


class OnnxBackend:
    """An exported model run by onnxruntime (CUDA provider first when asked for and available) or, on the CPU, by
    OpenVINO (runtime="openvino"; fst.runtimes says which measures faster)."""

    def __init__(self, path: Path, cuda: bool, runtime: str = "onnxruntime", gpu: int = 0) -> None:
        self.path, self.providers, self.runtime = path, cuda_providers(cuda, gpu), runtime
        try:
            metadata = proto_metadata(read_model(path, with_graph=False))
            self.session = onnx_session(path, self.providers, runtime=runtime)
        except Exception as e:  # onnxwire, onnxruntime and OpenVINO raise their own types for unreadable models
            raise FstError(f"{path} is not a loadable ONNX model ({str(e).splitlines()[0]})") from None
        if is_arbitrary(metadata):  # its other inputs are a painting's statistics
            raise FstError(f"{path} stylizes with any painting: give one (--painting FILE, Stylizer(painting=...))")
        check_fst_model(self.session, path)
        self.styles = metadata_styles(metadata, path)[0]  # several: names
        check_style_input(self.session, self.styles, path)
        self._rewrites = {"stats": with_norm_stat_outputs, "apply": with_norm_stat_inputs}
        self._sessions: dict = {}
        self.feeds: dict[str, np.ndarray] = {}  # a network of several styles: its `style` weights

    def use_style(self, weights: np.ndarray) -> None:
        """Blend a network of several styles with these weights (fst.blend), for every image from now on."""
        self.feeds = {"style": np.asarray(weights, dtype=np.float32)}

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return run_onnx(self.session, images, self.feeds)[0]

    @property
    def takes_frames(self) -> bool:
        """Whether frames() runs here: in OpenVINO, for a graph of any size."""
        return self.runtime == "openvino" and fixed_size(self.session) is None

    def frames(self, image: np.ndarray, streamed: bool = False) -> np.ndarray:
        """The network on an H x W x 3 uint8 RGB frame, giving uint8, with the conversions inside the compiled
        graph (fst.ovsession); padded by reflection to the side multiple and cropped back here, as run_onnx does.
        streamed: on one of OpenVINO's streams, from any of frame_streams() threads at once."""
        height, width = image.shape[:2]
        bottom, right = (-height) % SIDE_MULTIPLE, (-width) % SIDE_MULTIPLE
        padded = np.pad(image, ((0, bottom), (0, right), (0, 0)), mode="reflect") if bottom or right else image
        try:
            out, finite = self.session.frames(np.ascontiguousarray(padded)[None], self.feeds, streamed)
        except Exception as e:  # as run_onnx: OpenVINO's own types, MemoryError
            raise run_failed(e, width, height) from None
        if not finite:  # a damaged or diverged network: not a black picture written as a success
            raise FstError(f"{self.path} gave NaN or infinite values for a {width}x{height} image")
        return out[0, :height, :width]

    def frame_streams(self) -> int:
        """How many frames run at once on streams (fst.ovsession), where frames() runs; else 1."""
        return self.session.stream_count() if self.takes_frames else 1

    @functools.cached_property
    def proto(self):
        """The file as onnx reads it, which the tiling rewrites edit: read once, and only where a run tiles."""
        import onnx

        return onnx.load(str(self.path))

    def _rewritten(self, kind: str):
        """The session of a rewritten copy of the model, built on first use: most runs never tile."""
        if kind not in self._sessions:
            rewritten = self._rewrites[kind](self.proto)
            self._sessions[kind] = onnx_session(rewritten, self.providers, arena=False, runtime=self.runtime)
        return self._sessions[kind]

    def norm_stats(self, images: np.ndarray) -> Stats:
        outputs = run_onnx(self._rewritten("stats"), images, self.feeds)[1:]
        return list(zip(outputs[0::2], outputs[1::2]))

    def with_stats(self, images: np.ndarray, stats: Stats) -> np.ndarray:
        feeds = dict(self.feeds)
        for i, (mean, var) in enumerate(stats):
            feeds[f"fst_norm{i}_mean"], feeds[f"fst_norm{i}_var"] = mean, var
        return run_onnx(self._rewritten("apply"), images, feeds)[0]
