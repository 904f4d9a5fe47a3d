"""Stylize images with a trained network: an exported .onnx file (onnxruntime) or a training checkpoint (PyTorch).

from fst.stylize import Stylizer
Stylizer("exports/demo.onnx").stylize(Image.open("photo.jpg")).save("out.jpg")
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image

from fst.checkpoint import load_model
from fst.data import IMAGE_EXTENSIONS, load_rgb, to_image, to_tensor
from fst.errors import FstError, run_cli
from fst.files import atomic_write

MIN_SIDE = 8  # two stride-2 convolutions, then 3x3 reflection padding: smaller sides cannot be padded


class Stylizer:
    """One loaded model; `stylize` maps a PIL image to a stylized PIL RGB image of the same size."""

    def __init__(self, model: str | Path, device: str = "auto") -> None:
        self.path = Path(model)
        if not self.path.is_file():
            raise FstError(f"model not found: {self.path} (expected an .onnx file or a training checkpoint .pt)")
        if device not in ("auto", "cpu", "cuda"):
            raise FstError(f"--device {device!r}: expected auto, cpu or cuda")
        cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
        if self.path.suffix == ".onnx":
            import onnxruntime

            available = onnxruntime.get_available_providers()
            if device == "cuda" and "CUDAExecutionProvider" not in available:
                raise FstError("--device cuda: this onnxruntime has no CUDA provider (pip install onnxruntime-gpu)")
            providers = ["CUDAExecutionProvider"] if cuda and "CUDAExecutionProvider" in available else []
            try:
                self.session = onnxruntime.InferenceSession(
                    str(self.path), providers=[*providers, "CPUExecutionProvider"]
                )
            except Exception as e:  # onnxruntime raises its own exception types for unreadable models
                raise FstError(f"{self.path} is not a loadable ONNX model ({e})") from None
            self.model = None
        else:
            if device == "cuda" and not torch.cuda.is_available():
                raise FstError("--device cuda: PyTorch sees no CUDA device here")
            self.device = torch.device("cuda" if cuda else "cpu")
            self.model, _ = load_model(self.path)
            self.model.to(self.device)

    def stylize(self, image: Image.Image) -> Image.Image:
        if min(image.size) < MIN_SIDE:
            raise FstError(f"image of {image.width}x{image.height} is too small: each side must be at least {MIN_SIDE}")
        batch = to_tensor(image.convert("RGB")).unsqueeze(0)
        if self.model is None:
            out = torch.from_numpy(self.session.run(None, {"image": batch.numpy()})[0])
        else:
            with torch.no_grad():
                out = self.model(batch.to(self.device))
        return to_image(out[0])


def resize_long_side(image: Image.Image, size: int) -> Image.Image:
    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new, Image.Resampling.LANCZOS)


def plan_outputs(inputs: list[str], output: str) -> list[tuple[Path, Path]]:
    """(input, output) pairs: a single file maps to `output` as a file; folders map into `output` as a tree."""
    pairs: list[tuple[Path, Path]] = []
    out = Path(output)
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
            if not files:
                raise FstError(f"no images under {path}")
            pairs += [(f, out / f.relative_to(path)) for f in files]
        elif path.is_file():
            pairs.append((path, out if len(inputs) == 1 and out.suffix else out / path.name))
        else:
            raise FstError(f"input not found: {path}")
    if out.suffix and len(pairs) > 1:
        raise FstError(f"--output {out} looks like a file, but there are {len(pairs)} images: give a folder")
    sources = {p.resolve() for p, _ in pairs}
    for source, target in pairs:
        if target.resolve() in sources:
            raise FstError(f"refusing to write over the input {target}: choose another --output")
        if target.suffix.lower() not in IMAGE_EXTENSIONS:
            raise FstError(
                f"--output {target}: unknown image type {target.suffix!r}; use one of {sorted(IMAGE_EXTENSIONS)}"
            )
    return pairs


def save_image(image: Image.Image, path: Path) -> None:
    with atomic_write(path) as tmp:
        image.save(tmp, quality=95) if path.suffix.lower() in (".jpg", ".jpeg") else image.save(tmp)


def main(argv: list[str] | None = None) -> int:
    """`python infer.py --model M --input A [B ...] --output O`; exit code 1 when any image failed."""
    import argparse

    from tqdm import tqdm

    parser = argparse.ArgumentParser(prog="infer.py", description="Stylize images with a trained fst model.")
    parser.add_argument("--model", required=True, help="exported .onnx file or training checkpoint .pt")
    parser.add_argument("--input", required=True, nargs="+", help="image files and/or folders (searched recursively)")
    parser.add_argument("--output", required=True, help="output file (one input image) or folder")
    parser.add_argument("--size", type=int, help="resize so the long side is SIZE pixels before stylizing")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    args = parser.parse_args(argv)
    if args.size is not None and args.size < MIN_SIDE:
        raise FstError(f"--size {args.size}: expected at least {MIN_SIDE}")

    pairs = plan_outputs(args.input, args.output)
    stylizer = Stylizer(args.model, args.device)
    failed = skipped = 0
    bar = tqdm(pairs, unit="img", dynamic_ncols=True, disable=len(pairs) < 2)
    for source, target in bar:
        if target.exists() and not args.overwrite:
            tqdm.write(f"kept existing {target} (use --overwrite to replace it)")
            skipped += 1
            continue
        try:
            image = load_rgb(source)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            tqdm.write(f"error: cannot read {source} ({e}); skipped")
            failed += 1
            continue
        if args.size:
            image = resize_long_side(image, args.size)
        save_image(stylizer.stylize(image), target)
    done = len(pairs) - failed - skipped
    print(f"wrote {done} image{'s' * (done != 1)}" + (f", {failed} failed" if failed else "") + f" -> {args.output}")
    return 1 if failed else 0


def cli() -> None:
    """Console-script entry point (`fst-infer`), also what infer.py calls."""
    sys.exit(run_cli(main))
