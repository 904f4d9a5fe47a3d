"""Frames through a network on a GPU: uint8 in and out, everything in between on the device.

Measured on an H200 at 1080p (docs/benchmarks.md, GPU), fst's float path spent more time around the network than
in it: float32 copies to and from the GPU (four bytes a channel) and conversions on the host. Here a frame
travels as uint8 through pinned host buffers (one copy each way, asynchronous), is converted, padded and cropped
on the device, and the network runs in half precision and channels_last on CUDA. With `compile` the whole
conversion and network are compiled by torch.compile (max-autotune, no CUDA graphs), once per frame size: about
a minute of compiling, repaid by long videos and the webcam, not by one photo.

FrameStylizer runs on any PyTorch device; on a CPU it is what the tests check against the float path.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from fst.transformer import TransformerNet

COMPILE_MODE = "max-autotune-no-cudagraphs"


class FrameStylizer:
    """`model` on `device` for uint8 RGB frames, (H, W, 3) or a batch (N, H, W, 3), returned the same way.

    half: fp16 weights and activations (default: on CUDA only). compile: torch.compile the frame path.
    """

    def __init__(
        self, model: TransformerNet, device: str | torch.device, half: bool | None = None, compile: bool = False
    ) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.dtype = torch.float16 if (self.cuda if half is None else half) else torch.float32
        self.model = copy.deepcopy(model).eval().to(self.device, self.dtype)
        if self.cuda:
            self.model.to(memory_format=torch.channels_last)
        self.run = torch.compile(self.forward, mode=COMPILE_MODE, dynamic=False) if compile else self.forward
        self.staging: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, H, W, 3) uint8 on the device -> the stylized frames, the same."""
        x = frames.permute(0, 3, 1, 2).to(self.dtype).div_(255)
        if self.cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        y = self.model(x).float().mul_(255).round_().clamp_(0, 255)
        return y.to(torch.uint8).permute(0, 2, 3, 1).contiguous()

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        batch = np.require(frames[None] if frames.ndim == 3 else frames, requirements=["C", "W"])  # torch wants W
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"expected uint8 frames of shape (H, W, 3) or (N, H, W, 3), got {frames.shape}")
        source = torch.from_numpy(batch)
        if not self.cuda:
            out = self.run(source.to(self.device)).cpu().numpy()
        else:
            host_in, host_out = self._staging(tuple(batch.shape))
            host_in.copy_(source)
            stylized = self.run(host_in.to(self.device, non_blocking=True))
            host_out.copy_(stylized, non_blocking=True)
            torch.cuda.current_stream(self.device).synchronize()
            out = host_out.numpy().copy()
        return out[0] if frames.ndim == 3 else out

    def _staging(self, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pinned host buffers for frames of this shape, in and out, made once: the copies can then overlap."""
        if shape not in self.staging:
            self.staging[shape] = tuple(torch.empty(shape, dtype=torch.uint8).pin_memory() for _ in range(2))
        return self.staging[shape]
