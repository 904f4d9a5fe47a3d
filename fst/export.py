"""ONNX export of a transformation network, verified against PyTorch before anything is written.

The model takes `image`, float32 NCHW RGB in [0, 1], with dynamic batch, height and width, and returns
`stylized` in the same convention, whatever the precision inside. Everything a runtime needs to know is in the
model's metadata_props: style, training image size, fst version, precision and this I/O convention.

    python -m fst.export runs/wave/last.pt -o exports/wave.onnx            # fp32: max abs error <= 1e-4
    python -m fst.export runs/wave/last.pt -o exports/wave-fp16.onnx --fp16 # for GPUs: PSNR >= 30 dB
    python -m fst.export runs/wave/last.pt -o exports/wave-int8.onnx --int8 # for CPUs: PSNR >= 30 dB

(that command line is fst.cli.export's; this module is the library part).
"""

from __future__ import annotations

import copy
import logging
import math
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from fst.backends import onnx_session
from fst.data import find_images, resize_long_side, spread_photos, to_tensor
from fst.errors import FstError
from fst.files import atomic_write
from fst.transformer import TransformerNet
from fst.version import __version__

OPSET = 18
MAX_ABS_ERROR = 1e-4
MIN_PSNR_DB = 30.0
TRACE_SHAPE = (1, 3, 64, 64)
VERIFY_SHAPE = (2, 3, 83, 117)  # batch, height and width all differ from the traced ones
IO_CONVENTION = "input 'image' and output 'stylized': float32 NCHW RGB in [0, 1], any batch, height and width"
EXPORT_PRECISIONS = ("fp32", "fp16", "int8")


@dataclass
class ExportReport:
    path: Path
    precision: str
    max_abs_error: float  # onnxruntime vs PyTorch fp32 on VERIFY_SHAPE random images
    psnr_db: float | None  # onnxruntime vs PyTorch fp32 on the sample photos (fp16 and int8 only)

    def summary(self) -> str:
        quality = f"PSNR {self.psnr_db:.1f} dB vs fp32" if self.psnr_db is not None else ""
        error = f"max abs error {self.max_abs_error:.2g} vs PyTorch"
        return f"wrote {self.path} ({self.precision}, {quality or error})"


class HalfPrecision(nn.Module):
    """fp16 weights and arithmetic inside, float32 image in and out, so callers need not change."""

    def __init__(self, model: TransformerNet) -> None:
        super().__init__()
        self.model = model.half()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image.half()).float()


def export_onnx(
    model: TransformerNet,
    path: str | Path,
    metadata: dict[str, str],
    precision: str = "fp32",
    photos: list[torch.Tensor] | None = None,
) -> ExportReport:
    """Export `model` to `path` and verify it; the file appears only once verified.

    fp32 must match PyTorch to MAX_ABS_ERROR on an image size it was not traced with. fp16 and int8 (static
    quantization calibrated on `photos`, (1, 3, H, W) tensors) must reach MIN_PSNR_DB against PyTorch fp32 on
    `photos`. A failed check raises FstError naming the measured figure, and any previous file stays untouched.
    """
    import onnx

    if precision not in EXPORT_PRECISIONS:
        raise FstError(f"precision {precision!r}: expected one of {', '.join(EXPORT_PRECISIONS)}")
    if precision != "fp32" and not photos:
        raise FstError(f"a {precision} export needs sample photos to measure its PSNR against fp32")
    path = Path(path)
    reference = _cpu_copy(model)  # the caller's model stays where and as it is
    proto = _trace(HalfPrecision(_cpu_copy(model)).eval() if precision == "fp16" else reference)
    if precision == "int8":
        proto = _quantize(proto, photos)
    props = {"fst_version": __version__, "io": IO_CONVENTION, "precision": precision, **metadata}
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=str(value))

    with atomic_write(path) as tmp:
        onnx.save(proto, tmp)
        error = max_abs_error(reference, tmp)
        psnr = None
        if precision == "fp32" and not error <= MAX_ABS_ERROR:
            raise FstError(
                f"ONNX export of {path.name} does not match PyTorch: max abs error {error:.3g} on a "
                f"{VERIFY_SHAPE[2]}x{VERIFY_SHAPE[3]} image, allowed {MAX_ABS_ERROR:g}; nothing was written"
            )
        if precision != "fp32":
            psnr = psnr_against(reference, tmp, photos)
            if not psnr >= MIN_PSNR_DB:
                raise FstError(
                    f"the {precision} export of {path.name} reaches only {psnr:.1f} dB PSNR against fp32 on "
                    f"{len(photos)} sample photos, below the {MIN_PSNR_DB:g} dB required; nothing was written"
                )
    return ExportReport(path, precision, error, psnr)


def _cpu_copy(model: TransformerNet) -> TransformerNet:
    return copy.deepcopy(model).float().cpu().eval()


def _trace(module: nn.Module):
    # The exporter logs a warning for each torchvision operator it skips; fst does not use torchvision.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    dim = torch.export.Dim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecations inside torch's own exporter
        program = torch.onnx.export(
            module,
            (torch.rand(TRACE_SHAPE),),
            input_names=["image"],
            output_names=["stylized"],
            dynamic_shapes=({0: dim("batch"), 2: dim("height"), 3: dim("width")},),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    return program.model_proto


def _quantize(proto, photos: list[torch.Tensor]):
    """Static int8 quantization of the convolutions (QDQ, per-channel weights), calibrated on `photos`.

    Instance norm, padding and resizing stay in float: they are cheap, and instance norm is what keeps the
    quantization error from compounding through the residual blocks.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter([{"image": photo.numpy()} for photo in photos])

        def get_next(self):
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory() as folder:
        fp32, prepared, quantized = (Path(folder) / name for name in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        onnx.save(proto, fp32)
        logging.disable(logging.WARNING)  # the quantizer logs per-tensor notes about rank-1 norm weights
        try:
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(quantized),
                Photos(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=["Conv"],
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        finally:
            logging.disable(logging.NOTSET)
        return onnx.load(str(quantized))


def max_abs_error(model: nn.Module, onnx_path: str | Path) -> float:
    """Largest |onnxruntime - PyTorch| over a fixed random batch of VERIFY_SHAPE."""
    images = torch.rand(VERIFY_SHAPE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(images).numpy()
    got = onnx_session(onnx_path).run(None, {"image": images.numpy()})[0]
    if got.shape != expected.shape:
        return float("inf")
    return float(abs(got - expected).max())


def psnr(pairs: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """PSNR in dB of images against their references (pixels in [0, 1]), from the MSE pooled over all pairs."""
    squared, count = 0.0, 0
    for got, expected in pairs:
        squared += float((got.float() - expected.float()).pow(2).sum())
        count += expected.numel()
    mse = squared / count
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


@torch.no_grad()
def psnr_against(model: nn.Module, onnx_path: str | Path, photos: list[torch.Tensor]) -> float:
    """PSNR of the ONNX model's output against `model`'s over `photos`."""
    session = onnx_session(onnx_path)
    return psnr((torch.from_numpy(session.run(None, {"image": p.numpy()})[0]), model(p)) for p in photos)


def calibration_photos(folder: str | Path, count: int = 8, size: int = 256) -> list[torch.Tensor]:
    """Up to `count` photos spread over `folder`, long side resized to `size`, as (1, 3, H, W) tensors: what int8
    is calibrated on and fp16/int8 are measured on."""
    paths = find_images(folder)
    photos = spread_photos(paths, count)
    if not photos:
        raise FstError(
            f"none of the {len(paths)} images under {folder} could be read; pass --photos DIR with readable photos"
        )
    return [to_tensor(resize_long_side(p, size)).unsqueeze(0) for p in photos]


def metadata_for(config: dict, step: int) -> dict[str, str]:
    """What a runtime elsewhere may want to know about the model, from its training config."""
    return {
        "style": config["name"],
        "style_image": Path(config["style_image"]).name,
        "image_size": str(config["data"]["image_size"]),
        "steps": str(step),
    }


if __name__ == "__main__":  # `python -m fst.export`: the command line lives in fst.cli.export
    from fst.cli.export import cli

    cli()
