"""What this machine offers inference, found without PyTorch: the CPU's feature flags and whether int8 arithmetic
pays on it, and whether a GPU is there for onnxruntime or PyTorch (PyTorch is imported only where signs of one are,
since importing it takes seconds)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags as the kernel reports them; empty where there is no /proc/cpuinfo (macOS, Windows)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return set(line.split(":", 1)[1].split())
    return set()


def fast_int8(flags: set[str] | None = None) -> tuple[bool, str]:
    """Whether onnxruntime's int8 convolutions beat fp32 on this CPU, and why: they need 8-bit dot products in
    256-bit vectors (AVX2; VNNI is faster still) or ARM's dot-product instructions. Measured: 2.0-2.4x eager fp32
    against 1.6-1.9x for fp32 on a 2-core AVX2 CPU, 2.66x against 1.51x on AVX-512 (docs/benchmarks.md, Inference
    speed)."""
    flags = cpu_flags() if flags is None else flags
    found = [name for flag, name in (("avx2", "AVX2"), ("avx512_vnni", "AVX512-VNNI"), ("asimddp", "NEON dot product"))
             if flag in flags]  # fmt: skip
    if found:
        return True, f"the CPU has {' and '.join(found)}"
    return False, "the CPU has neither AVX2 nor NEON dot products, where int8 is no faster than fp32"


NVIDIA_SIGNS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0")  # a driver, or its devices


def gpu_present() -> bool:
    """Whether an NVIDIA GPU may be here, found without importing PyTorch (seconds) on machines without one: the
    driver's /proc entry, or its device files (sandboxes that pass a GPU through show those), or nvidia-smi."""
    if os.name == "nt":
        import ctypes.util

        return ctypes.util.find_library("nvcuda") is not None
    return any(Path(sign).exists() for sign in NVIDIA_SIGNS) or shutil.which("nvidia-smi") is not None


def torch_cuda(asked: bool = False) -> bool:
    """Whether PyTorch is installed and sees a CUDA device. Unless CUDA was `asked` for by name, PyTorch is
    imported only where gpu_present() finds signs of a GPU."""
    if not asked and not gpu_present():
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def onnx_cuda() -> bool:
    """Whether this onnxruntime can run on a GPU: onnxruntime-gpu can, the plain onnxruntime package cannot."""
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def torch_mps() -> bool:
    """Whether PyTorch is installed and sees an Apple GPU (Metal Performance Shaders)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.backends.mps.is_available()


def cuda_providers(cuda: bool, index: int = 0) -> list:
    """onnxruntime's providers, CUDA first (on GPU `index`) when asked for and present in this onnxruntime."""
    if not (cuda and onnx_cuda()):
        return ["CPUExecutionProvider"]
    return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]


def cuda_index(device: str) -> int | None:
    """The GPU a device name means: 0 for cuda, N for cuda:N, None for any other name."""
    if device == "cuda":
        return 0
    return int(device[5:]) if device.startswith("cuda:") and device[5:].isdigit() else None


DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"


def is_device_name(name: str) -> bool:
    """Whether `name` is one of DEVICE_NAMES: checked when a config or a flag is read, before any work."""
    return name in ("auto", "cpu", "cuda", "mps") or (name.startswith("cuda:") and name[5:].isdigit())
