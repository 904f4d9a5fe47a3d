"""Which runtime runs an exported network on this CPU: onnxruntime or OpenVINO, whichever measures faster here.

Neither wins everywhere. On a 2-core AMD EPYC (AVX-512), fp32, 640x360: the realtime network takes 17.6 ms in
OpenVINO against 46.7 in onnxruntime (2.7x), while the full network takes 422 ms against 381 (0.9x); the int8
copies 160 against 226. So the choice is made per machine and per model file by timing both on a 256-pixel image
once, and kept in a small cache file (~/.cache/fst/runtimes.json, keyed by the CPU, both runtimes' versions and
the file), so later runs start at once. Where OpenVINO is not installed, onnxruntime runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fst.backends import Backend, OnnxBackend, TorchBackend, export_precision
from fst.catalogue import int8_sibling
from fst.devices import cuda_index, fast_int8, onnx_cuda, torch_cuda, torch_mps
from fst.errors import FstError, UsageError
from fst.files import atomic_write, cache_folder

RUNTIMES = ("onnxruntime", "openvino")
PROBE = 256  # the side of the image both runtimes are timed on
RUNS = 3  # timed runs each, after one to warm up; the fastest counts (the least disturbed by other work)
KEPT = 64  # measurements kept in the cache, the newest


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def cache_file() -> Path:
    return cache_folder() / "runtimes.json"


def cache_key(path: Path) -> str:
    """What the measurement depends on: the CPU, both runtimes' versions, and the model file as it is now."""
    from fst.devices import cpu_flags

    cpu = hashlib.sha256(" ".join(sorted(cpu_flags())).encode()).hexdigest()[:12]
    stat = path.stat()
    versions = [version_of("onnxruntime", "onnxruntime-gpu"), version_of("openvino")]  # without importing them
    parts = [cpu, os.cpu_count(), *versions, str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    return json.dumps(parts)


def version_of(*distributions: str) -> str:
    """The installed version of the first of these distributions there is (the package metadata, read without
    importing the package: importing OpenVINO takes 0.1 s)."""
    for name in distributions:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(name)
    return "none"


def measure(path: Path, runtime: str) -> float:
    """Seconds per run of the model at PROBE x PROBE in `runtime` (the fastest of RUNS, after one warm-up); inf
    where that runtime cannot load or run it."""
    try:
        backend = OnnxBackend(path, cuda=False, runtime=runtime)
        if backend.styles:
            backend.use_style(np.eye(len(backend.styles), dtype=np.float32)[0])
        image = np.random.default_rng(0).random((1, 3, PROBE, PROBE), dtype=np.float32)
        backend(image)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            backend(image)
            times.append(time.perf_counter() - start)
    except FstError:  # said again, naming the file, by the runtime chosen when it loads or runs
        return math.inf
    return min(times)


def choose_runtime(path: Path, asked: str = "auto") -> tuple[str, str]:
    """(the runtime to run `path` on this CPU, why in words): the one asked for, else the faster here."""
    if asked == "openvino" and not openvino_installed():
        raise FstError("runtime openvino: OpenVINO is not installed here (pip install openvino)")
    if asked != "auto":
        return asked, "asked for"
    if not openvino_installed():
        return "onnxruntime", "OpenVINO is not installed"
    key, cache = cache_key(path), read_cache()
    times = cache.get(key) or {runtime: measure(path, runtime) for runtime in RUNTIMES}
    fastest, other = sorted(RUNTIMES, key=times.get)
    if math.isinf(times[other]):
        return fastest if math.isfinite(times[fastest]) else "onnxruntime", f"{other} cannot run it"
    if key not in cache:
        write_cache({**cache, key: times})
    return fastest, f"{times[other] / times[fastest]:.1f}x {other}'s speed on this CPU, measured"


@dataclass(frozen=True)
class Loaded:
    """A model file loaded for a device: the backend, the file that runs (an int8 copy may stand in for the one
    asked for), whether it runs on a GPU, which runtime runs it and why, and why another file runs (if one does)."""

    backend: Backend
    path: Path
    cuda: bool
    runtime: str
    runtime_reason: str
    choice: str


def load_backend(path: Path, asked: Path, device: str, int8: bool, runtime: str) -> Loaded:
    """The one place that decides what runs a model file: on a GPU onnxruntime's CUDA provider, else PyTorch (an
    fp32 export's weights; a checkpoint); on the CPU an int8 copy where the CPU's int8 is fast, in onnxruntime or
    OpenVINO, whichever measures faster (choose_runtime). `asked`: the file as the user named it."""
    if runtime not in ("auto", *RUNTIMES):
        raise UsageError(f"runtime {runtime!r}: expected auto, {' or '.join(RUNTIMES)}")
    if device == "mps":
        return load_on_mps(path, runtime)
    gpu = cuda_index(device)  # cuda: 0; cuda:N: N
    named = f"device {device}"
    has_torch_cuda, has_onnx_cuda = device != "cpu" and torch_cuda(asked=gpu is not None), onnx_cuda()
    cuda = (has_onnx_cuda or has_torch_cuda) if device == "auto" else gpu is not None
    gpu, torch_device = gpu or 0, device if device.startswith("cuda:") else "cuda"
    if runtime != "auto" and cuda and path.suffix == ".onnx":
        raise UsageError(f"runtime {runtime} runs on the CPU: pass device cpu as well, or runtime auto for the GPU")
    if path.suffix == ".onnx" and cuda and not has_onnx_cuda and has_torch_cuda:
        # The plain onnxruntime package runs on the CPU only: an fp32 export's weights go to the GPU in PyTorch.
        precision = export_precision(path)
        if precision != "fp32":
            raise FstError(f"{path} is an {precision} export, which this onnxruntime runs on the CPU only: name "
                           "the fp32 model to use the GPU, or pass --device cpu")  # fmt: skip
        choice = f"running {path} on the GPU with PyTorch (this onnxruntime has no CUDA provider)"
        backend = TorchBackend(path, torch_device)
        return Loaded(backend, path, True, "pytorch", "no CUDA provider in onnxruntime", choice)
    if path.suffix != ".onnx":
        if runtime != "auto":
            raise UsageError(f"runtime {runtime} runs exported .onnx models; {path} is run by PyTorch: export it "
                             "(fst-export), or leave the runtime to auto")  # fmt: skip
        if cuda and not has_torch_cuda:
            raise FstError(f"{named}: PyTorch sees no CUDA device here")
        return Loaded(TorchBackend(path, torch_device if cuda else "cpu"), path, cuda, "pytorch", "a checkpoint", "")
    if cuda and not has_onnx_cuda:
        raise FstError(f"{named}: neither onnxruntime nor PyTorch has a CUDA device here")
    choice = ""
    sibling, psnr, stale = int8_sibling(path) if int8 and not cuda else (None, math.nan, "")
    use_int8, why = fast_int8() if sibling is not None else (False, "")  # the CPU matters only given a copy
    if use_int8:
        choice, path = f"running {sibling} (int8, {psnr:.1f} dB PSNR against fp32): {why}", sibling
    elif path != asked or stale:
        choice = "; ".join(filter(None, [f"running {path}" if path != asked else "", stale]))
    if cuda:
        return Loaded(OnnxBackend(path, True, gpu=gpu), path, True, "onnxruntime", "its CUDA provider", choice)
    chosen, reason = choose_runtime(path, runtime)
    return Loaded(OnnxBackend(path, False, chosen), path, False, chosen, reason, choice)


def load_on_mps(path: Path, runtime: str) -> Loaded:
    """An Apple GPU: PyTorch alone runs there, a checkpoint or an fp32 export's weights."""
    if runtime != "auto":
        raise UsageError(f"runtime {runtime} runs on the CPU: pass device cpu as well, or runtime auto for the GPU")
    if not torch_mps():
        raise FstError("device mps: PyTorch sees no Apple GPU (MPS) here")
    if path.suffix == ".onnx" and export_precision(path) != "fp32":
        raise FstError(f"{path} is an {export_precision(path)} export, which runs on the CPU only: name the fp32 "
                       "model to use the Apple GPU, or pass --device cpu")  # fmt: skip
    return Loaded(TorchBackend(path, "mps"), path, False, "pytorch", "the Apple GPU (MPS)", "")


def read_cache() -> dict:
    """The measurements so far; none where the file is missing or damaged (it is measured again)."""
    try:
        cache = json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(cache, dict):  # a list or a number where the file was damaged: measured again too
        return {}
    valid = {key: value for key, value in cache.items() if isinstance(value, dict) and set(value) == set(RUNTIMES)}
    return {key: value for key, value in valid.items() if all(isinstance(t, float) and t > 0 for t in value.values())}


def write_cache(cache: dict) -> None:
    """Kept where it can be written; where not (a read-only home), the next run measures again."""
    with contextlib.suppress(OSError, FstError):
        with atomic_write(cache_file()) as tmp:
            tmp.write_text(json.dumps(dict(list(cache.items())[-KEPT:]), indent=1))
