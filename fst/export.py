"""ONNX export of a transformation network, verified against PyTorch before anything is written.

The model takes `image`, float32 NCHW RGB in [0, 1], with dynamic batch, height and width, and returns `stylized`
in the same convention, whatever the precision inside (an fp16 or int8 export records its PSNR against fp32 as
`psnr_db`). Height and width must be multiples of 4: the caller pads other sizes by reflection on the right and
bottom and crops the output back (fst.backends.run_onnx does). Padding inside the graph needs runtime Shape
arithmetic, which OpenCV's DNN and other converters reject; without it the graph is plain convolutions, norms and
resizes, and loads in every common runtime. `pad_inside` (`--pad-inside`) exports that arithmetic anyway, for
runtimes that take the model as it is (onnxruntime, OpenVINO, the browser): any size in, the same size out.
The file is IR version 8, the lowest opset 18 allows, which onnxruntime loads from 1.14 on (1.16 tested).
`--static HxW` exports a 1x3xHxW graph for runtimes that need fixed shapes, any H and W, its padding then constant.
Everything a runtime needs to know is in the model's metadata_props: style, training image size, fst version,
precision and the I/O convention; `--index DIR` writes the same for every model in DIR to DIR/models.json
(fst.metadata), for JavaScript, whose onnxruntime API does not read metadata.

    python export.py runs/wave/last.pt -o exports/wave.onnx            # fp32: max abs error <= 1e-4
    python export.py runs/wave/last.pt -o exports/wave-fp16.onnx --fp16 # for GPUs: PSNR >= 30 dB
    python export.py runs/wave/last.pt -o exports/wave-int8.onnx --int8 # for CPUs: PSNR >= 30 dB
    python export.py runs/wave/last.pt -o wave-720p.onnx --static 720x1280
    python export.py --index exports                                    # exports/models.json

(that command line is fst.cli.export's; this module is the library part).
"""

from __future__ import annotations

if __name__ == "__main__":  # the library run as a script: one line to the command, nothing loaded
    raise SystemExit("error: fst.export is the library; the command is python export.py (or fst-export)")

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from fst.checkpoint import weights_digest
from fst.errors import FstError
from fst.files import atomic_write
from fst.metadata import IO_CONVENTION, PADDED_IO_CONVENTION, STATIC_IO_CONVENTION
from fst.onnxrun import onnx_session, run_onnx
from fst.onnxtrace import make_portable, trace_graph
from fst.quantize import psnr, quantize
from fst.transformer import TransformerNet
from fst.version import __version__

MAX_ABS_ERROR = 1e-4
MIN_PSNR_DB = 30.0
TRACE_SHAPE = (1, 3, 64, 64)
PADDED_TRACE_SHAPE = (1, 3, 63, 65)  # pad_inside: sides that need padding, so that the tracer keeps the padding
VERIFY_SHAPE = (2, 3, 83, 117)  # batch, height and width all differ from the traced ones
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


class PixelFold(nn.Module):
    """nn.PixelUnshuffle of the RGB image as a convolution of stride `factor` whose weights are 0 and 1: the same
    numbers (each output is one input pixel times 1), exported as one Conv, where PyTorch exports PixelUnshuffle
    as 6-D reshapes that OpenCV's DNN misreads (it returned a 1x6x96x64 fold of a 96x128 image)."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor
        folded = 3 * factor * factor  # channel c * factor^2 + row * factor + column, as PixelUnshuffle orders them
        self.register_buffer("weight", torch.eye(folded).reshape(folded, 3, factor, factor))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return F.conv2d(image, self.weight.to(image.dtype), stride=self.factor)


class ExportedGraph(nn.Module):
    """What is traced: the network on sides that are multiples of 4, or whole with its padding and cropping
    (`pads`: a static size, where the padding is constant, or pad_inside); fp16 inside if asked, float32 image in
    and out either way. The realtime network's PixelUnshuffle is traced as a PixelFold."""

    def __init__(self, model: TransformerNet, half: bool, pads: bool) -> None:
        super().__init__()
        for index, layer in enumerate(model.net):
            if isinstance(layer, nn.PixelUnshuffle):
                model.net[index] = PixelFold(layer.downscale_factor)
        self.model = model.half() if half else model
        self.half, self.pads = half, pads

    def forward(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        x = image.half() if self.half else image
        y = self.model(x, style) if self.pads else self.model.stylize_padded(x, style)
        return y.float() if self.half else y


def export_onnx(
    model: TransformerNet,
    path: str | Path,
    metadata: dict[str, str],
    precision: str = "fp32",
    photos: list[torch.Tensor] | None = None,
    static: tuple[int, int] | None = None,
    pad_inside: bool = False,
) -> ExportReport:
    """Export `model` to `path` and verify it; the file appears only once verified.

    fp32 must match PyTorch to MAX_ABS_ERROR on an image size it was not traced with (on its one size if
    `static`). fp16 and int8 (static quantization calibrated on `photos`, (1, 3, H, W) tensors) must reach
    MIN_PSNR_DB against PyTorch fp32 on `photos`. A failed check raises FstError naming the measured figure, and
    any previous file stays untouched. pad_inside: the graph pads any height and width and crops back itself
    (checked on VERIFY_SHAPE fed as it is).
    """
    import onnx

    if precision not in EXPORT_PRECISIONS:
        raise FstError(f"precision {precision!r}: expected one of {', '.join(EXPORT_PRECISIONS)}")
    if precision != "fp32" and not photos:
        raise FstError(f"a {precision} export needs sample photos to measure its PSNR against fp32")
    if precision == "int8" and model.styles > 1:
        raise FstError("int8 copies are made of networks of one style; export this one in fp32 or fp16")
    path = Path(path)
    if static and photos:
        photos = [F.interpolate(p, size=static, mode="bilinear", antialias=True) for p in photos]
    reference = _cpu_copy(model)  # the caller's model stays where and as it is
    pads = static is not None or pad_inside
    graph = ExportedGraph(_cpu_copy(model), half=precision == "fp16", pads=pads).eval()
    proto = _trace(graph, static, style_inputs(model)[0], PADDED_TRACE_SHAPE if pad_inside else TRACE_SHAPE)
    if precision == "int8":
        proto = quantize(proto, photos)
    shape = (1, 3, *static) if static else VERIFY_SHAPE
    io = STATIC_IO_CONVENTION.format(shape="x".join(map(str, shape))) if static else IO_CONVENTION
    io = PADDED_IO_CONVENTION if pad_inside and not static else io
    if model.styles > 1:
        io += f"; input 'style': float32 of shape ({model.styles},), a weight per style (metadata styles), summing to 1"
    make_portable(proto, static)
    props = {"fst_version": __version__, "io": io, "precision": precision, **metadata}
    if precision != "fp32":  # a copy of `model` in another precision stands in for it and says so
        props["made_from"] = weights_digest(reference)
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=str(value))
    onnx.checker.check_model(proto, full_check=True)

    try:
        with atomic_write(path) as tmp:
            return _save_verified(proto, tmp, path, reference, shape, precision, photos, pad_inside)
    except OSError as e:  # the disk full, the folder gone: whatever was at `path` is kept
        raise FstError(f"cannot write {path} ({e.strerror or e}); nothing was written") from None


def _save_verified(proto, tmp: Path, path: Path, reference: nn.Module, shape: tuple[int, ...], precision: str,
                   photos: list[torch.Tensor] | None, pad_inside: bool = False) -> ExportReport:  # fmt: skip
    """Write `proto` to `tmp` and check it against `reference` as export_onnx promises; FstError when it fails."""
    import onnx

    onnx.save(proto, tmp)
    error = max_abs_error(reference, tmp, shape, as_is=pad_inside)  # for several styles, on a blend of all
    psnr = None
    if precision == "fp32" and not error <= MAX_ABS_ERROR:
        raise FstError(
            f"ONNX export of {path.name} does not match PyTorch: max abs error {error:.3g} on a "
            f"{shape[2]}x{shape[3]} image, allowed {MAX_ABS_ERROR:g}; nothing was written"
        )
    if precision != "fp32":
        psnr = psnr_against(reference, tmp, photos)
        if not psnr >= MIN_PSNR_DB:
            raise FstError(
                f"the {precision} export of {path.name} reaches only {psnr:.1f} dB PSNR against fp32 on "
                f"{len(photos)} sample photos, below the {MIN_PSNR_DB:g} dB required; nothing was written"
            )
        # What fst.catalogue.int8_sibling reads to decide whether this copy may stand in for the fp32 model.
        proto.metadata_props.add(key="psnr_db", value=f"{psnr:.2f}")
        onnx.save(proto, tmp)
    return ExportReport(path, precision, error, psnr)


def _cpu_copy(model: TransformerNet) -> TransformerNet:
    return copy.deepcopy(model).float().cpu().eval()


def _trace(module: nn.Module, static: tuple[int, int] | None, style: torch.Tensor | None = None,
           shape: tuple[int, ...] = TRACE_SHAPE):  # fmt: skip
    """The graph of a transformation network: `image` (and for several styles `style`, float32, one weight per
    style) in, `stylized` out, dynamic batch, height and width unless `static`."""
    names = ("image", "stylized")
    dynamic = None if static else {name: {0: "batch", 2: "height", 3: "width"} for name in names}
    inputs = (torch.rand((1, 3, *static) if static else shape),) + ((style,) if style is not None else ())
    return trace_graph(module, inputs, ["image", "style"][: len(inputs)], ["stylized"], dynamic)


def max_abs_error(
    model: nn.Module, onnx_path: str | Path, shape: tuple[int, ...] = VERIFY_SHAPE, as_is: bool = False
) -> float:
    """Largest |onnxruntime - PyTorch| over a fixed random batch of `shape` (a blend of all styles, for several),
    padded to the side multiple and cropped back as fst does, or `as_is`: fed to the graph unpadded."""
    images = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    style, feeds = style_inputs(model)
    with torch.no_grad():
        expected = model(images, style).numpy()
    session = onnx_session(onnx_path)
    batch = images.numpy()
    got = session.run(None, {"image": batch, **feeds})[0] if as_is else run_onnx(session, batch, feeds)[0]
    if got.shape != expected.shape:
        return float("inf")
    return float(abs(got - expected).max())


@torch.no_grad()
def psnr_against(model: nn.Module, onnx_path: str | Path, photos: list[torch.Tensor]) -> float:
    """PSNR of the ONNX model's output against `model`'s over `photos`."""
    session = onnx_session(onnx_path)
    style, feeds = style_inputs(model)
    return psnr((torch.from_numpy(run_onnx(session, p.numpy(), feeds)[0]), model(p, style)) for p in photos)


def style_inputs(model: nn.Module) -> tuple[torch.Tensor | None, dict]:
    """The style weights an export of several styles is traced and checked with, for PyTorch and as onnxruntime's
    feed: a blend of all, each weight different, so a wrong order or a wrong mix shows. None for one style."""
    if getattr(model, "styles", 1) == 1:
        return None, {}
    weights = torch.arange(1, model.styles + 1, dtype=torch.float32)
    weights /= weights.sum()
    return weights, {"style": weights.numpy()}
