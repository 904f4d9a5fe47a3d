"""What this machine runs fast: the training device (under torchrun, each process's), and the precision and
compilation that pay on it.

bf16 halves the memory traffic of every convolution, but only hardware with bf16 arithmetic gains from it: CUDA
GPUs of compute capability 8.0 and up, and CPUs with AVX512-BF16 or AMX. Elsewhere (AVX2-only CPUs: most laptops
and many cloud machines) oneDNN emulates it, and a training step becomes many times slower than in fp32. So
`auto` picks bf16 only where it is native, and an explicit bf16 elsewhere is honoured with a warning.
"""

from __future__ import annotations

import os
import warnings

import torch

from fst.devices import cpu_flags
from fst.errors import ConfigError

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
COMPILE_MIN_STEPS = 500


def distributed_rank() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) for a plain `python train.py`."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world_size, int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(name: str, local_rank: int = 0, key: str = "train.device") -> torch.device:
    """The device to run on (`key`: the setting it came from, for the error); under torchrun each process takes
    the GPU of its local rank."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    asked = f"{key} {name}" if key.startswith("--") else f"{key} = {name!r}"  # a flag or a config key
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{asked}, but PyTorch sees no CUDA device here; use auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{asked}, but MPS is not available here; use auto or cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def cpu_capability(flags: set[str] | None = None) -> str:
    """What a speed figure depends on, in words: the vector width PyTorch uses, and native bf16 if any."""
    flags = cpu_flags() if flags is None else flags
    extras = [name for flag, name in (("avx512_bf16", "AVX512-BF16"), ("amx_bf16", "AMX")) if flag in flags]
    return " + ".join([torch.backends.cpu.get_cpu_capability(), *extras])


def native_bf16(device: torch.device, flags: set[str] | None = None) -> tuple[bool, str]:
    """(whether `device` does bf16 arithmetic in hardware, the reason in words)."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return True, f"{torch.cuda.get_device_name(device)} has bf16 tensor cores"
        return False, f"{torch.cuda.get_device_name(device)} has no native bf16"
    if device.type != "cpu":
        return False, f"bf16 autocast is not used on {device.type}"
    flags = cpu_flags() if flags is None else flags
    found = [flag for flag in CPU_BF16_FLAGS if flag in flags]
    if found:
        return True, f"the CPU has {' and '.join(found)}"
    capability = torch.backends.cpu.get_cpu_capability()
    return False, f"the CPU ({capability}) has neither AVX512-BF16 nor AMX, so bf16 would be emulated"


def choose_precision(requested: str, device: torch.device, flags: set[str] | None = None) -> tuple[str, str]:
    """(the precision to train in, why). `auto` is bf16 where native, else fp32; explicit choices are kept."""
    native, why = native_bf16(device, flags)
    if requested == "auto":
        return ("bf16", f"auto: {why}") if native else ("fp32", f"auto: {why}")
    if requested == "bf16" and not native:
        warnings.warn(
            f"train.precision = bf16, but {why}: expect training many times slower than fp32 "
            "(precision: auto picks fp32 here)",
            stacklevel=2,
        )
        return "bf16", f"asked for; {why}"
    return requested, "asked for"


def choose_compile(requested: bool | str, device: torch.device, steps_to_go: int) -> tuple[bool, str]:
    """(whether to torch.compile the training step, why).

    `auto` compiles on CUDA, and on a CPU when the run is long enough to pay back the compiling: measured on 2
    cores at 256 px, batch 4, 1.28x in fp32 (AVX2) and 1.25x in bf16 (AVX512-BF16), after 40-90 s of compiling,
    which a few hundred steps repay many times over; a short run (tests, quick trials) starts at once instead.
    """
    if requested != "auto":
        return bool(requested), "asked for"
    if device.type == "cuda":
        return True, "auto: CUDA"
    if device.type == "cpu" and steps_to_go >= COMPILE_MIN_STEPS:
        return True, f"auto: {steps_to_go} steps to go on a CPU repay the compiling"
    return False, f"auto: {steps_to_go} steps on {device.type} are too few to repay compiling"
