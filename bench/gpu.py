"""GPU: every measurement behind fst's GPU figures, in one command that prints a table and one JSON line.

    python3 bench/gpu.py                 # on a machine with CUDA: about 6 minutes on an H100 or H200
    python3 bench/gpu.py --device cpu --quick --no-compile   # the same code on a CPU, at small sizes (tests)

It needs the repository and PyTorch with CUDA, plus what fst's inference imports (numpy, Pillow, onnx,
onnxruntime, OpenCV); PyAV for the video row (skipped, saying so, without it). Sections:

- inference, the default network (width 32; speed does not depend on the weights), batch 1, at 1920x1080,
  1280x720 and 512x512: the baseline (eager fp32, the frame already on the GPU, as pytorch/examples runs it);
  fst's float path (TorchBackend: fp16 autocast and channels_last, float32 copies to and from the host);
  fst.gpu.FrameStylizer, uint8 from host to host, eager, and at 1920x1080 compiled (its compile time said) and
  compiled on batches of 4 frames (time per frame); Stylizer.stylize with --compile on a uint8 array and on a PIL
  image at 1920x1080;
- video end to end: infer.py's path (fst.video.transform_video, decode and encode in threads) on a 1080p clip,
  compiled, frames per second;
- training at 256 px: the photo loader alone (images/s), then Trainer.run as train.py runs it, one process,
  fp32 eager and bf16 + torch.compile (what `auto` picks on a GPU), at batch 4 and 16.

Every figure is a median over repeated runs after warm-up, synchronized with the GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.backends import TorchBackend  # noqa: E402
from fst.checkpoint import save_checkpoint  # noqa: E402
from fst.config import config_from_dict  # noqa: E402
from fst.data import PositionSampler, photo_loader  # noqa: E402
from fst.gpu import FrameStylizer  # noqa: E402
from fst.photos import find_images  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402
from fst.trainer import Trainer  # noqa: E402
from fst.transformer import TransformerNet  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ROWS: list[dict] = []


def report(section: str, name: str, size: str, ms: float | None = None, **extra) -> None:
    """One row of the table, kept for the JSON line."""
    row = {"section": section, "name": name, "size": size, "ms": None if ms is None else round(ms, 2), **extra}
    ROWS.append(row)
    shown = "" if ms is None else f"{ms:9.2f} ms {1000 / ms:8.1f}/s"
    more = ", ".join(f"{k} {v}" for k, v in extra.items())
    print(f"{section:<10} {name:<52} {size:>10} {shown:>22}  {more}", flush=True)


def median_ms(fn, device: torch.device, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def inference(device: torch.device, sizes: list[tuple[int, int]], repeats: int, compile: bool, folder: Path) -> None:
    torch.manual_seed(0)
    model = TransformerNet().eval()
    checkpoint = save_checkpoint({"step": 0, "config": {"model": {}}, "model": model.state_dict()}, folder, 1)
    on_device = model.to(device)
    backend = TorchBackend(checkpoint, str(device))
    eager, compiled = FrameStylizer(model, device), FrameStylizer(model, device, compile=compile)
    for height, width in sizes:
        size = f"{width}x{height}"
        frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        resident = torch.rand(1, 3, height, width, device=device)
        with torch.inference_mode():
            base = median_ms(lambda: on_device(resident), device, repeats)
        report("inference", "baseline: eager fp32, frame on the GPU", size, base, speedup=1.0)
        floats = frame.transpose(2, 0, 1)[None].astype(np.float32) / 255
        ms = median_ms(lambda: backend(floats), device, repeats)
        report("inference", "fst float path (TorchBackend), host to host", size, ms, speedup=round(base / ms, 2))
        ms = median_ms(lambda: eager(frame), device, repeats)
        report("inference", "FrameStylizer eager, uint8 host to host", size, ms, speedup=round(base / ms, 2))
        if not compile or (height, width) != sizes[0]:  # a minute of compiling per size: the largest only
            continue
        start = time.perf_counter()
        compiled(frame)
        took = round(time.perf_counter() - start, 1)
        ms = median_ms(lambda: compiled(frame), device, repeats)
        report("inference", "FrameStylizer compiled, uint8 host to host", size, ms, speedup=round(base / ms, 2),
               compile_s=took)  # fmt: skip
        batch = np.stack([frame] * 4)
        ms = median_ms(lambda: compiled(batch), device, max(2, repeats // 2)) / 4
        report("inference", "FrameStylizer compiled, batches of 4, per frame", size, ms, speedup=round(base / ms, 2))
    height, width = sizes[0]
    stylizer = Stylizer(checkpoint, device.type, max_memory=64.0, compile=compile)
    frame = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    photo = Image.fromarray(frame)
    for name, fn in (("Stylizer.stylize, uint8 array", lambda: stylizer.stylize(frame)),
                     ("Stylizer.stylize, PIL image", lambda: stylizer.stylize(photo))):  # fmt: skip
        report("inference", name + (", compiled" if compile else ""), f"{width}x{height}",
               median_ms(fn, device, repeats))  # fmt: skip


def video(device: torch.device, size: tuple[int, int], frames: int, compile: bool, folder: Path) -> None:
    try:
        import av
    except ImportError:
        report("video", "skipped: PyAV is not installed (pip install av)", "")
        return
    from fst.video import transform_video

    height, width = size
    clip = folder / "clip.mp4"
    base = np.asarray(Image.open(REPO / "data" / "demo" / "astronaut.jpg").convert("RGB").resize((width + frames, height)))
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(base[:, i : i + width]))))
        container.mux(stream.encode())
    torch.manual_seed(0)
    checkpoint = save_checkpoint({"step": 0, "config": {"model": {}}, "model": TransformerNet().state_dict()},
                                 folder / "video", 1)  # fmt: skip
    stylizer = Stylizer(checkpoint, device.type, max_memory=64.0, compile=compile)
    stylizer.stylize(base[:, :width].copy())  # compiled for this size before the clock starts
    for temporal in (False, True):
        start = time.perf_counter()
        count = transform_video(clip, folder / "out.mp4", stylizer.video(temporal).stylize, lambda: None)
        elapsed = time.perf_counter() - start
        report("video", f"infer.py path, {'stabilized' if temporal else 'frame by frame'}"
               + (", compiled" if compile else ""), f"{width}x{height}", elapsed * 1000 / count,
               frames=count)  # fmt: skip


def training(device: torch.device, steps: int, quick: bool, folder: Path) -> None:
    shared = REPO.parent / "shared" / "data" / "photos"
    photos = shared if shared.is_dir() else REPO / "data" / "demo"
    size = 64 if quick else 256
    paths = find_images(photos)
    workers = min(8, os.cpu_count() or 1)
    cfg = config_from_dict({"name": "x", "style_image": str(REPO / "data" / "styles" / "starry_night.jpg"),
                            "data": {"root": str(photos), "image_size": size, "workers": workers}}).data
    loader = iter(photo_loader(paths, cfg, PositionSampler(len(paths), 0), pin_memory=device.type == "cuda"))
    next(loader)
    start = time.perf_counter()
    for _ in range(steps):
        next(loader)
    rate = steps * cfg.batch_size / (time.perf_counter() - start)
    report("training", f"photo loader alone, {workers} workers", f"{size}px", images_per_second=round(rate, 1))
    runs = [("fp32", False, 4), ("bf16", True, 4), ("bf16", True, 16)]
    for precision, compile, batch in runs[:1] if quick else runs:
        config = config_from_dict({
            "name": f"bench-{precision}-{batch}", "style_image": str(REPO / "data" / "styles" / "starry_night.jpg"),
            "data": {"root": str(photos), "image_size": size, "batch_size": batch, "workers": workers},
            "train": {"device": device.type, "precision": precision, "compile": compile, "steps": steps * 2,
                      "log_every": steps, "sample_every": 10**6, "checkpoint_every": 10**6, "warmup_steps": 0},
            "output": {"runs_dir": str(folder / "runs"), "exports_dir": str(folder / "exports")},
        })  # fmt: skip
        marks: dict[int, float] = {}
        Trainer(config).run(lambda p: marks.setdefault(p.step, time.perf_counter()) if p.losses else None)
        rate = steps * batch / (marks[steps * 2] - marks[steps])  # the second half: compiled and warm
        report("training", f"Trainer.run, {precision}{' + compile' if compile else ''}, batch {batch}", f"{size}px",
               images_per_second=round(rate, 1))  # fmt: skip


def device_name(text: str) -> str:
    """--device: cuda, cuda:N or cpu, the devices this benchmark's code paths are written for."""
    if text in ("cuda", "cpu") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: expected cuda, cuda:N or cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", type=device_name)
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps: a check that it all runs")
    parser.add_argument("--no-compile", action="store_true", help="leave out the compiled rows")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device here: run on a machine with one, or pass --device cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}")
    folder = Path(tempfile.mkdtemp(prefix="fst-gpu-"))
    compile = not args.no_compile
    sizes = [(72, 128), (36, 64)] if args.quick else [(1080, 1920), (720, 1280), (512, 512)]
    inference(device, sizes, 3 if args.quick else 20, compile, folder)
    video(device, sizes[0], 8 if args.quick else 300, compile, folder)
    training(device, 2 if args.quick else 60, args.quick, folder)
    print(json.dumps({"benchmark": "gpu", "device": name, "torch": torch.__version__, "rows": ROWS}))


if __name__ == "__main__":
    main()
