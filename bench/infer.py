"""Inference speed: fst's engines against a baseline run in the same process, on the same machine.

    python bench/infer.py [--checkpoint runs/x/last.pt] [--sizes 256x256 512x512 640x360 1280x720 1920x1080]

Baseline: the Johnson et al. network run eagerly in fp32 under torch.no_grad(), as pytorch/examples'
fast_neural_style stylizes. Rows: fst's PyTorch path (TorchBackend), onnxruntime fp32 and int8 on CPU, the
realtime architecture (fst.transformer) in onnxruntime fp32 at every size, and on a machine with CUDA the PyTorch
fp16 path and onnxruntime fp16 on the GPU. Columns: median latency, frames per
second, speedup over the baseline at the same size, PSNR against the fp32 network on the sample photos.
Then the shipped styles as a user runs them: Stylizer("exports/<style>.onnx") on a 512x512 photo, PIL image in
and out, which on a CPU with fast int8 runs the style's int8 copy where one is shipped (fst.catalogue.int8_sibling),
and with fast=True (--fast) where a fast variant is shipped, against the full network run eagerly in fp32 (PSNR
against it too, so the fast rows show what distillation and int8 cost together).
Last line: the same as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.backends import OnnxBackend, TorchBackend  # noqa: E402
from fst.checkpoint import load_network  # noqa: E402
from fst.data import to_image, to_tensor  # noqa: E402
from fst.export import export_onnx  # noqa: E402
from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, resize_long_side  # noqa: E402
from fst.quantize import calibration_photos, psnr  # noqa: E402
from fst.runtimes import RUNTIMES, openvino_installed  # noqa: E402
from fst.stylize import Stylizer  # noqa: E402
from fst.transformer import TransformerNet  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def median_ms(fn, images: torch.Tensor, repeats: int) -> float:
    fn(images)  # warm-up: allocations, kernel choice, lazy initialization
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(images)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def shipped_default_path(repeats: int) -> list[dict]:
    """Each shipped style through Stylizer's default path at 512x512, against its network run eagerly in fp32: in
    each CPU runtime installed (fst.runtimes), a row each."""
    runtimes = [runtime for runtime in RUNTIMES if runtime != "openvino" or openvino_installed()]
    photo = resize_long_side(load_rgb(REPO / "data" / "demo" / "astronaut.jpg"), 512)
    samples = calibration_photos(REPO / "data" / "demo", count=7, size=256)
    rows = []
    print(f"{'shipped style, default path':<30} {'runs':<26} {'runtime':<12} {'median ms':>10} {'speedup':>8} "
          f"{'PSNR dB':>8}")  # fmt: skip
    for entry in json.loads((REPO / "exports" / "models.json").read_text())["models"]:
        if entry["precision"] != "fp32" or entry["file"].endswith("-fast.onnx"):
            continue
        path = REPO / "exports" / entry["file"]
        network = load_network(path)

        def eager(_images: torch.Tensor) -> None:
            with torch.no_grad():
                to_image(network(to_tensor(photo).unsqueeze(0))[0])

        base_ms = median_ms(eager, None, repeats)
        for fast, runtime in [(fast, runtime) for fast in (False, True) for runtime in runtimes]:
            if fast and not path.with_name(f"{path.stem}-fast.onnx").is_file():
                continue
            stylizer = Stylizer(path, "cpu", fast=fast, runtime=runtime)
            ran = Path(stylizer.path).name
            ms = median_ms(lambda _: stylizer.stylize(photo), None, repeats)
            with torch.no_grad():
                quality = psnr((torch.from_numpy(stylizer.backend(p.numpy())), network(p)) for p in samples)
            rows.append({"style": entry["style"], "runs": ran, "runtime": runtime, "eager_ms": round(base_ms, 1),
                         "median_ms": round(ms, 1), "speedup": round(base_ms / ms, 2),
                         "psnr_db": round(quality, 1)})  # fmt: skip
            print(f"{entry['style']:<30} {ran:<26} {runtime:<12} {ms:>10.1f} {base_ms / ms:>7.2f}x {quality:>8.1f}")
    return rows


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""  # fmt: skip
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu} ({os.cpu_count()} cores, {cpu_capability()}){gpu}, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a trained checkpoint (default: the default network, random weights)")
    parser.add_argument("--sizes", nargs="+", default=["256x256", "512x512", "640x360", "1280x720", "1920x1080"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="fst-bench-"))
    if args.checkpoint:
        from fst.checkpoint import load_model

        model, _ = load_model(args.checkpoint)
        weights = args.checkpoint
    else:
        torch.manual_seed(0)
        model = TransformerNet().eval()
        weights = "random init (speed does not depend on the weights)"
    small = TransformerNet(width=16, res_blocks=model.res_blocks).eval()
    realtime = TransformerNet(architecture="realtime").eval()
    photos = calibration_photos(REPO / "data" / "demo", count=6, size=256)

    checkpoint = folder / "model.pt"
    torch.save({"step": 0, "config": {"model": {"width": model.width, "res_blocks": model.res_blocks}},
                "model": model.state_dict()}, checkpoint)  # fmt: skip
    small_checkpoint = folder / "small.pt"
    torch.save({"step": 0, "config": {"model": {"width": 16, "res_blocks": small.res_blocks}},
                "model": small.state_dict()}, small_checkpoint)  # fmt: skip
    exports = {
        name: export_onnx(net, folder / f"{name}.onnx", {}, precision, photos if precision != "fp32" else None)
        for name, net, precision in [
            ("fp32", model, "fp32"), ("int8", model, "int8"), ("small-fp32", small, "fp32"), ("small-int8", small, "int8"),
            ("realtime", realtime, "fp32"),
            *([("fp16", model, "fp16")] if torch.cuda.is_available() else []),
        ]
    }  # fmt: skip

    def tensors(backend):
        """fst's backends take and give numpy arrays; the baseline and the PSNR here work on tensors."""
        return lambda images: torch.from_numpy(backend(images.numpy()))

    @torch.no_grad()
    def baseline(images: torch.Tensor) -> torch.Tensor:
        return model(images)

    wide, narrow = f"width {model.width}", "width 16"
    engines = [
        ("baseline: eager fp32 (pytorch/examples)", wide, baseline),
        ("fst PyTorch (cpu)", wide, tensors(TorchBackend(checkpoint, "cpu"))),
        ("fst onnxruntime fp32 (cpu)", wide, tensors(OnnxBackend(exports["fp32"].path, cuda=False))),
        ("fst onnxruntime int8 (cpu)", wide, tensors(OnnxBackend(exports["int8"].path, cuda=False))),
        ("fst onnxruntime fp32 (cpu)", narrow, tensors(OnnxBackend(exports["small-fp32"].path, cuda=False))),
        ("fst onnxruntime int8 (cpu)", narrow, tensors(OnnxBackend(exports["small-int8"].path, cuda=False))),
        ("fst onnxruntime fp32 (cpu)", "realtime", tensors(OnnxBackend(exports["realtime"].path, cuda=False))),
    ]  # fmt: skip
    if torch.cuda.is_available():
        engines += [
            ("fst PyTorch fp16 (cuda)", wide, tensors(TorchBackend(checkpoint, "cuda"))),
            ("fst onnxruntime fp16 (cuda)", wide, tensors(OnnxBackend(exports["fp16"].path, cuda=True))),
        ]  # fmt: skip

    psnrs = {}
    for name, net_name, engine in engines[1:]:
        reference = {wide: model, narrow: small, "realtime": realtime}[net_name]
        with torch.no_grad():
            psnrs[(name, net_name)] = psnr((engine(p), reference(p)) for p in photos)

    rows = []
    print(f"machine: {machine()}\nweights: {weights}\n")
    header = f"{'engine':<42} {'network':<9} {'size':>9} {'median ms':>10} {'FPS':>7} {'speedup':>8} {'PSNR dB':>8}"
    print(header + "\n" + "-" * len(header))
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        images = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
        repeats = args.repeats if width * height <= 512 * 512 else max(2, args.repeats // 2)
        base_ms = None
        for name, net_name, engine in engines:
            if net_name == "width 16" and size != "512x512":
                continue
            ms = median_ms(engine, images, repeats)
            base_ms = base_ms or ms
            row = {
                "engine": name, "network": net_name, "size": size, "median_ms": round(ms, 1),
                "fps": round(1000 / ms, 2), "speedup": round(base_ms / ms, 2), "psnr_db": psnrs.get((name, net_name)),
            }  # fmt: skip
            rows.append(row)
            shown = (
                "-" if row["psnr_db"] is None else "inf" if row["psnr_db"] == float("inf") else f"{row['psnr_db']:.1f}"
            )
            print(
                f"{name:<42} {net_name:<9} {size:>9} {ms:>10.1f} {row['fps']:>7.2f} {row['speedup']:>7.2f}x {shown:>8}"
            )
        print()

    targets = {}
    if "512x512" in args.sizes:
        best = max((r for r in rows if "onnxruntime" in r["engine"] and r["size"] == "512x512"
                    and r["network"] == f"width {model.width}"), key=lambda r: r["speedup"])  # fmt: skip
        small_ms = min(r["median_ms"] for r in rows if r["network"] == "width 16")
        targets = {
            "onnxruntime_512_speedup": best["speedup"], "onnxruntime_512_engine": best["engine"],
            "onnxruntime_512_speedup_target": 2.0, "width16_512_ms": small_ms, "width16_512_ms_target": 150.0,
        }  # fmt: skip
        print(f"target: onnxruntime at 512x512 >= 2x baseline: {best['speedup']:.2f}x ({best['engine']})")
        print(f"target: a width-16 network under 150 ms at 512x512: {small_ms:.1f} ms")
    realtime_targets = (
        ("512x512", "under 40 ms"), ("640x360", "24 frames/s or more"), ("1280x720", "8 frames/s or more"),
    )  # fmt: skip
    for size, target in realtime_targets:
        found = [r for r in rows if r["network"] == "realtime" and r["size"] == size]
        if found:
            targets[f"realtime_{size}_ms"] = found[0]["median_ms"]
            print(f"target (on a 2-core AVX2 CPU): the realtime network at {size} {target}: "
                  f"{found[0]['median_ms']:.1f} ms, {found[0]['fps']:.1f} frames/s")  # fmt: skip
    print()
    shipped = shipped_default_path(args.repeats)
    print(f"target: the default path at 512x512 >= 2x eager fp32: {min(r['speedup'] for r in shipped):.2f}x (slowest)")
    for row in rows:
        if row["psnr_db"] == float("inf"):
            row["psnr_db"] = "inf"
    print(json.dumps({"benchmark": "infer", "machine": machine(), "weights": weights, "rows": rows,
                      "shipped": shipped, **targets}))  # fmt: skip


if __name__ == "__main__":
    main()
