"""What the CPU offers inference, read from the kernel without PyTorch: its feature flags, and whether int8
arithmetic pays on it."""

from __future__ import annotations

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
