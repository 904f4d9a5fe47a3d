"""Training speed: fst's trainer against a baseline loop run in the same process, on the same machine.

    python bench/train.py [--steps 4] [--no-compile]

Images/s at 256x256, batch 4, the default network and loss. Baseline: the loop pytorch/examples'
fast_neural_style runs: fp32, eager, the photo through all of VGG16 up to relu4_3 although only relu2_2 is used,
unnormalized MSE terms. fst rows: its trainer's own `train_step` with each optimization switched on in turn, and
the data loader alone (decoding, resizing and cropping photos in worker processes). On a machine with CUDA the same
rows run there too. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.config import config_from_dict  # noqa: E402
from fst.hardware import cpu_capability, native_bf16  # noqa: E402
from fst.losses import gram_matrix, load_style_image  # noqa: E402
from fst.trainer import Trainer  # noqa: E402
from fst.transformer import TransformerNet  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "photos"
SIZE, BATCH = 256, 4


def photo_folder() -> Path:
    return SHARED_PHOTOS if SHARED_PHOTOS.is_dir() else REPO / "data" / "demo"


def make_trainer(device: str, precision: str = "fp32", compile: bool = False) -> Trainer:
    folder = Path(tempfile.mkdtemp(prefix="fst-bench-"))
    config = config_from_dict(
        {
            "name": "bench",
            "style_image": str(REPO / "data" / "styles" / "starry_night.jpg"),
            "data": {"root": str(photo_folder()), "image_size": SIZE, "batch_size": BATCH, "workers": 0},
            "train": {"device": device, "precision": precision, "compile": compile, "steps": 10**6},
            "output": {"runs_dir": str(folder / "runs"), "exports_dir": str(folder / "exports")},
        }
    )
    return Trainer(config)


def images_per_second(step, photos: torch.Tensor, steps: int, warmup: int = 1) -> float:
    for _ in range(warmup):  # allocations, kernel choice, compilation
        step(photos)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step(photos)
        if photos.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return BATCH / statistics.median(times)


def baseline_step_function(trainer: Trainer):
    """The pytorch/examples loop, on fst's VGG16 and the same style image."""
    vgg = trainer.objective.loss_fn.vgg
    layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    style = load_style_image(trainer.config.style_image, trainer.config.loss.style_size).to(trainer.device)
    with torch.no_grad():
        style_grams = {layer: gram_matrix(f) for layer, f in vgg(style, layers).items()}
    torch.manual_seed(0)
    model = TransformerNet().to(trainer.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    mse = torch.nn.MSELoss()

    def step(photos: torch.Tensor) -> None:
        output = model(photos)
        features_y = vgg(output, layers)
        features_x = vgg(photos, layers)  # all layers, though only relu2_2 is used
        content = 1e5 * mse(features_y["relu2_2"], features_x["relu2_2"])
        style = 1e10 * sum(mse(gram_matrix(features_y[k]), style_grams[k].expand(len(photos), -1, -1)) for k in layers)
        optimizer.zero_grad()
        (content + style).backward()
        optimizer.step()

    return step


def loader_images_per_second(workers: int, batches: int = 40) -> float:
    trainer = make_trainer("cpu")
    trainer.config.data.workers = workers
    loader = iter(trainer.loader())
    next(loader)  # workers started
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per row (median)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row (compiling is slow)")
    args = parser.parse_args()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    header = f"{'device':<6} {'loop':<44} {'images/s':>9} {'speedup':>8}"
    print(f"256x256, batch {BATCH}, default network (width 32, 5 residual blocks), VGG16 to relu4_3")
    print(f"photos: {photo_folder()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"CPU capability: {cpu_capability()}\n")
    print(header + "\n" + "-" * len(header))
    for device in devices:
        trainer = make_trainer(device)
        photos = torch.rand(BATCH, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0)).to(trainer.device)
        base = images_per_second(baseline_step_function(trainer), photos, args.steps)
        variants = [("baseline: pytorch/examples loop (fp32, eager)", None, base)]
        native, why = native_bf16(trainer.device)
        configs = [("fst fp32", "fp32", False)]
        if native:
            configs.append(("fst bf16 autocast + channels_last", "bf16", False))
        else:  # emulated bf16 is many times slower: timing it would take hours and say nothing useful
            print(f"{device:<6} bf16 rows skipped: {why}")
        if device == "cuda":
            configs.append(("fst fp16 autocast + grad scaler + channels_last", "fp16", False))
        if not args.no_compile:
            fastest = "bf16" if native else "fp32"
            configs.append((f"fst {fastest} + torch.compile", fastest, True))
        for label, precision, compiled in configs:
            fst_trainer = make_trainer(device, precision, compiled)
            speed = images_per_second(fst_trainer.train_step, photos, args.steps, warmup=2 if compiled else 1)
            variants.append((label, precision, speed))
        for label, _, speed in variants:
            rows.append(
                {"device": device, "loop": label, "images_per_s": round(speed, 3), "speedup": round(speed / base, 2)}
            )
            print(f"{device:<6} {label:<44} {speed:>9.2f} {speed / base:>7.2f}x")
    for workers in (0, 2):
        speed = loader_images_per_second(workers)
        rows.append({"device": "cpu", "loop": f"data loader alone, {workers} workers", "images_per_s": round(speed, 1)})
        print(f"{'cpu':<6} {f'data loader alone, {workers} workers':<44} {speed:>9.1f}")
    best_cpu = max(r["speedup"] for r in rows if r["device"] == "cpu" and "speedup" in r)
    print(f"\ntarget: fst >= 1.5x the baseline on CPU: {best_cpu:.2f}x (CPU capability {cpu_capability()})")
    print(json.dumps({"benchmark": "train", "rows": rows, "cpu_best_speedup": best_cpu, "cpu_speedup_target": 1.5}))


if __name__ == "__main__":
    main()
