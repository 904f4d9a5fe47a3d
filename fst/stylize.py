"""Stylize images with a trained network: an exported .onnx file (onnxruntime) or a training checkpoint (PyTorch).

    from fst import Stylizer
    Stylizer("exports/demo.onnx").stylize(Image.open("photo.jpg")).save("out.jpg")

Large images can be stylized in tiles. Instance normalization makes each output pixel depend on statistics of the
whole image, so tiles normalized on their own would each get a different look; here every tile is normalized with
the statistics of a thumbnail of the whole image (Chen et al. 2022, "Towards Ultra-Resolution Neural Style
Transfer via Thumbnail Instance Normalization"), and overlapping tiles are blended with linear ramps. The thumbnail's
long side is twice the tile size: statistics from smaller thumbnails drift visibly (4/255 mean difference at 1x
against 1/255 at 2x on the sample photos), so that pass needs four times a tile's memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fst.checkpoint import load_model
from fst.data import open_image, resize_long_side, to_image, to_tensor
from fst.errors import FstError, command_name, run_cli

MIN_SIDE = 8  # two stride-2 convolutions, then 3x3 reflection padding: smaller sides cannot be padded
THUMBNAIL_TILES = 2  # the statistics pass sees the image at up to 2 x tile on its long side
Stats = list[tuple[torch.Tensor, torch.Tensor]]  # (mean, var) at each instance norm, shape (N, C, 1, 1)


class TorchBackend:
    """A training checkpoint run by PyTorch; fp16 autocast and channels_last on CUDA."""

    def __init__(self, path: Path, device: torch.device) -> None:
        self.model, _ = load_model(path)
        self.device = device
        self.model.to(device)
        if device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self.norms = [m for m in self.model.modules() if isinstance(m, torch.nn.InstanceNorm2d)]

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device)
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.float16):
                return self.model(images.contiguous(memory_format=torch.channels_last)).float().cpu()
        return self.model(images).cpu()

    def norm_stats(self, images: torch.Tensor) -> Stats:
        stats: Stats = []

        def record(_module, args):
            x = args[0].float()
            stats.append((x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)))

        hooks = [norm.register_forward_pre_hook(record) for norm in self.norms]
        try:
            self(images)
        finally:
            for hook in hooks:
                hook.remove()
        return stats

    def with_stats(self, images: torch.Tensor, stats: Stats) -> torch.Tensor:
        pending = iter(stats)

        def replace(module, args, _output):
            mean, var = next(pending)
            x = (args[0].float() - mean) / torch.sqrt(var + module.eps)
            return (x * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)).to(args[0].dtype)

        hooks = [norm.register_forward_hook(replace) for norm in self.norms]
        try:
            return self(images)
        finally:
            for hook in hooks:
                hook.remove()


class OnnxBackend:
    """An exported model run by onnxruntime (CUDA provider first when asked for and available)."""

    def __init__(self, path: Path, cuda: bool) -> None:
        import onnx
        import onnxruntime

        self.providers = ["CPUExecutionProvider"]
        if cuda and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            self.providers.insert(0, "CUDAExecutionProvider")
        try:
            self.proto = onnx.load(str(path))
            self.session = self._session(self.proto)
        except Exception as e:  # onnx and onnxruntime raise their own exception types for unreadable models
            raise FstError(f"{path} is not a loadable ONNX model ({str(e).splitlines()[0]})") from None
        check_fst_model(self.session, path)
        self._stats_session = self._apply_session = None

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"image": images.numpy()})[0])

    def _session(self, proto):
        import onnxruntime

        return onnxruntime.InferenceSession(proto.SerializeToString(), providers=self.providers)

    def norm_stats(self, images: torch.Tensor) -> Stats:
        if self._stats_session is None:
            self._stats_session = self._session(with_norm_stat_outputs(self.proto))
        outputs = self._stats_session.run(None, {"image": images.numpy()})[1:]
        return [(torch.from_numpy(m), torch.from_numpy(v)) for m, v in zip(outputs[0::2], outputs[1::2])]

    def with_stats(self, images: torch.Tensor, stats: Stats) -> torch.Tensor:
        if self._apply_session is None:
            self._apply_session = self._session(with_norm_stat_inputs(self.proto))
        feeds = {"image": images.numpy()}
        for i, (mean, var) in enumerate(stats):
            feeds[f"fst_norm{i}_mean"], feeds[f"fst_norm{i}_var"] = mean.numpy(), var.numpy()
        return torch.from_numpy(self._apply_session.run(None, feeds)[0])


def check_fst_model(session, path: Path) -> None:
    """An fst network takes one input `image` and gives one output, both float32 NCHW with 3 channels."""
    inputs, outputs = session.get_inputs(), session.get_outputs()

    def described(args) -> str:
        return ", ".join(f"{a.name} ({a.type}, shape {a.shape})" for a in args)

    image_like = all(
        len(a.shape) == 4 and a.type == "tensor(float)" and a.shape[1] in (3, "3") for a in [*inputs, *outputs]
    )
    if [a.name for a in inputs] != ["image"] or len(outputs) != 1 or not image_like:
        raise FstError(
            f"{path} is not an fst model: expected one input 'image' and one output, float32 of shape "
            f"(batch, 3, height, width); it has inputs {described(inputs)} and outputs {described(outputs)}"
        )


def _norm_nodes(proto) -> list:
    nodes = [n for n in proto.graph.node if n.op_type == "InstanceNormalization"]
    if not nodes:
        raise FstError("this ONNX model has no InstanceNormalization nodes, so it cannot be tiled; run it whole")
    return nodes


def _axes_constant(graph, name: str, axes: list[int]) -> str:
    """An int64 initializer holding `axes`, for the Reduce and Unsqueeze nodes added here; returns its name."""
    from onnx import helper

    graph.initializer.append(helper.make_tensor(name, 7, [len(axes)], axes))  # 7: int64
    return name


def with_norm_stat_outputs(proto):
    """A copy of the model that also outputs the mean and variance of every instance norm's input."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    axes = _axes_constant(graph, "fst_hw_axes", [2, 3])
    for i, node in enumerate(_norm_nodes(model)):
        x, mean, var = node.input[0], f"fst_norm{i}_mean", f"fst_norm{i}_var"
        graph.node.extend(
            [
                helper.make_node("ReduceMean", [x, axes], [mean], keepdims=1),
                helper.make_node("Sub", [x, mean], [f"fst_norm{i}_centered"]),
                helper.make_node("Mul", [f"fst_norm{i}_centered"] * 2, [f"fst_norm{i}_squared"]),
                helper.make_node("ReduceMean", [f"fst_norm{i}_squared", axes], [var], keepdims=1),
            ]
        )
        for name in (mean, var):
            graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model


def with_norm_stat_inputs(proto):
    """A copy of the model whose instance norms use given statistics (inputs fst_normI_mean/var) instead of their
    own: y = (x - mean) / sqrt(var + eps) * scale + bias."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    _norm_nodes(model)  # raises if there are none
    unsqueeze_axes = _axes_constant(graph, "fst_unsqueeze_axes", [1, 2])
    nodes = []
    i = -1
    for node in graph.node:
        if node.op_type != "InstanceNormalization":
            nodes.append(node)
            continue
        i += 1
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        x, scale, bias = node.input
        p = f"fst_norm{i}_"
        graph.initializer.append(helper.make_tensor(p + "eps", onnx.TensorProto.FLOAT, [], [eps]))
        for name in ("mean", "var"):
            graph.input.append(helper.make_tensor_value_info(p + name, onnx.TensorProto.FLOAT, [None, None, 1, 1]))
        nodes += [
            helper.make_node("Sub", [x, p + "mean"], [p + "centered"]),
            helper.make_node("Add", [p + "var", p + "eps"], [p + "var_eps"]),
            helper.make_node("Sqrt", [p + "var_eps"], [p + "std"]),
            helper.make_node("Div", [p + "centered", p + "std"], [p + "normalized"]),
            helper.make_node("Unsqueeze", [scale, unsqueeze_axes], [p + "scale"]),
            helper.make_node("Unsqueeze", [bias, unsqueeze_axes], [p + "bias"]),
            helper.make_node("Mul", [p + "normalized", p + "scale"], [p + "scaled"]),
            helper.make_node("Add", [p + "scaled", p + "bias"], [node.output[0]]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins covering [0, length) with at least `overlap` pixels shared by neighbours.

    Origins are multiples of 4, the network's total stride, so every tile samples the same pixel grid as the whole
    image would; the last tile ends at `length` and may be up to 3 pixels longer than `tile`.
    """
    if length <= tile:
        return [0]
    stride = (tile - overlap) // 4 * 4
    last = (length - tile) // 4 * 4
    return [*range(0, last, stride), last]


def blend_ramp(length: int, overlap: int, fade_in: bool, fade_out: bool) -> torch.Tensor:
    """1-D weights: rising over the first `overlap` pixels if fade_in, falling over the last if fade_out."""
    ramp = torch.ones(length)
    if overlap > 0:
        edge = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
        if fade_in:
            ramp[:overlap] = torch.minimum(ramp[:overlap], edge)
        if fade_out:
            ramp[-overlap:] = torch.minimum(ramp[-overlap:], edge.flip(0))
    return ramp


def preserve_colors(photo: Image.Image, stylized: Image.Image) -> Image.Image:
    """The stylized luminance with the photo's colour (YCbCr chroma), as in Gatys et al. 2016."""
    luma = stylized.convert("YCbCr").getchannel("Y")
    _, cb, cr = photo.convert("YCbCr").split()
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


def finish(
    photo: Image.Image, stylized: Image.Image, alpha: Image.Image | None, keep_colors: bool, strength: float
) -> Image.Image:
    """What follows stylization: the photo's colours if asked, the blend with the photo, the alpha channel."""
    if keep_colors:
        stylized = preserve_colors(photo, stylized)
    if strength < 1.0:
        stylized = Image.blend(photo, stylized, strength)
    if alpha is not None:
        stylized.putalpha(alpha)
    return stylized


class Stylizer:
    """One loaded model. `stylize(image)` returns a stylized PIL image of the same size (RGBA when the input has
    transparency: the alpha channel is carried through unchanged).

    tile / overlap: stylize in tiles of at most tile x tile pixels (see the module docstring).
    preserve_colors: keep the photo's colours, take only the luminance from the style.
    strength: 1 is the network's output, 0 the photo, in between a linear blend.
    """

    def __init__(
        self,
        model: str | Path,
        device: str = "auto",
        tile: int | None = None,
        overlap: int = 64,
        preserve_colors: bool = False,
        strength: float = 1.0,
    ) -> None:
        path = Path(model)
        if not path.is_file():
            raise FstError(f"model not found: {path} (expected an .onnx file or a training checkpoint .pt)")
        if device not in ("auto", "cpu", "cuda"):
            raise FstError(f"device {device!r}: expected auto, cpu or cuda")
        if tile is not None and tile < 4 * MIN_SIDE:
            raise FstError(f"tile {tile}: expected at least {4 * MIN_SIDE} pixels")
        if tile is not None and not 0 <= overlap < tile // 2:
            raise FstError(f"overlap {overlap}: expected 0 <= overlap < tile / 2 = {tile // 2}")
        if not 0.0 <= strength <= 1.0:
            raise FstError(f"strength {strength}: expected a number from 0 to 1")
        cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
        if path.suffix == ".onnx":
            if device == "cuda":
                import onnxruntime

                if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                    raise FstError("device cuda: this onnxruntime has no CUDA provider (pip install onnxruntime-gpu)")
            self.backend: TorchBackend | OnnxBackend = OnnxBackend(path, cuda)
        else:
            if device == "cuda" and not torch.cuda.is_available():
                raise FstError("device cuda: PyTorch sees no CUDA device here")
            self.backend = TorchBackend(path, torch.device("cuda" if cuda else "cpu"))
        self.path = path
        self.tile, self.overlap = tile, overlap
        self.preserve_colors, self.strength = preserve_colors, strength

    def stylize(self, image: Image.Image) -> Image.Image:
        if min(image.size) < MIN_SIDE:
            raise FstError(f"image of {image.width}x{image.height} is too small: each side must be at least {MIN_SIDE}")
        alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
        photo = image.convert("RGB")
        batch = to_tensor(photo).unsqueeze(0)
        if self.tile is not None and max(photo.size) > self.tile:
            out = self._tiled(batch)
        else:
            out = self.backend(batch)
        return finish(photo, to_image(out[0]), alpha, self.preserve_colors, self.strength)

    def _tiled(self, image: torch.Tensor) -> torch.Tensor:
        _, _, height, width = image.shape
        scale = THUMBNAIL_TILES * self.tile / max(height, width)
        if scale < 1:
            size = (max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale)))
            image_for_stats = F.interpolate(image, size=size, mode="bilinear", antialias=True).clamp(0, 1)
        else:
            image_for_stats = image
        stats = self.backend.norm_stats(image_for_stats)
        total = torch.zeros(1, 3, height, width)
        weight = torch.zeros(1, 1, height, width)
        rows = tile_starts(height, self.tile, self.overlap)
        columns = tile_starts(width, self.tile, self.overlap)
        for top in rows:
            for left in columns:
                bottom = height if top == rows[-1] else top + self.tile
                right = width if left == columns[-1] else left + self.tile
                out = self.backend.with_stats(image[..., top:bottom, left:right], stats)
                ramp_y = blend_ramp(bottom - top, self.overlap, top > 0, bottom < height)
                ramp_x = blend_ramp(right - left, self.overlap, left > 0, right < width)
                w = ramp_y[:, None] * ramp_x[None, :]
                total[..., top:bottom, left:right] += out * w
                weight[..., top:bottom, left:right] += w
        return total / weight


def main(argv: list[str] | None = None) -> int:
    """`python infer.py --model M --input A [B ...] --output O` (or `--optimize --style S` instead of `--model`);
    exit code 1 when any input failed."""
    import argparse

    import av
    from tqdm import tqdm

    from fst.media import count_frames, plan_jobs, save_image, transform_video

    parser = argparse.ArgumentParser(prog=command_name("infer.py"), description="Stylize images and videos with a trained fst model.")
    parser.add_argument("--model", help="exported .onnx file or training checkpoint .pt")
    parser.add_argument(
        "--input", required=True, nargs="+",
        help="image or video files, folders (searched recursively), glob patterns, or webcam:N",
    )  # fmt: skip
    parser.add_argument("--output", help="output file (one input) or folder; optional for webcam:N (records to it)")
    parser.add_argument("--size", type=int, help="resize so the long side is SIZE pixels before stylizing")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: CUDA when available")
    parser.add_argument("--tile", type=int, help="stylize images larger than TILE pixels in tiles of that size")
    parser.add_argument("--overlap", type=int, default=64, help="pixels shared by neighbouring tiles (default 64)")
    parser.add_argument(
        "--preserve-colors", action="store_true", help="keep the photo's colours, take the style's luminance"
    )
    parser.add_argument("--strength", type=float, default=1.0, help="0..1: blend of photo (0) and stylized (1)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    gatys = parser.add_argument_group("optimization (Gatys et al.): no model, the image itself is optimized")
    gatys.add_argument("--optimize", action="store_true", help="optimize each image under the training loss")
    gatys.add_argument("--style", help="style image (with --optimize)")
    gatys.add_argument("--iters", type=int, default=300, help="iterations (default 300)")
    gatys.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"], help="default lbfgs")
    gatys.add_argument("--lr", type=float, help="step size (default 1 for lbfgs, 0.01 for adam)")
    gatys.add_argument("--config", help="a training config whose loss section to use (default: the defaults)")
    args = parser.parse_args(argv)
    if args.size is not None and args.size < MIN_SIDE:
        raise FstError(f"--size {args.size}: expected at least {MIN_SIDE}")
    if args.optimize:
        return optimize_main(args)
    if args.model is None:
        raise FstError("--model is required (an .onnx file or a checkpoint), or --optimize with --style")

    webcam = [name for name in args.input if name.startswith("webcam:")]
    if webcam:
        if len(args.input) > 1 or not webcam[0][7:].isdigit():
            raise FstError("--input webcam:N takes a camera index, e.g. webcam:0, and no other inputs")
    elif args.output is None:
        raise FstError("--output is required (a file for one input, else a folder)")
    jobs = [] if webcam else plan_jobs(args.input, args.output)
    stylizer = Stylizer(args.model, args.device, args.tile, args.overlap, args.preserve_colors, args.strength)

    def transform(image: Image.Image) -> Image.Image:
        return stylizer.stylize(resize_long_side(image, args.size) if args.size else image)

    if webcam:
        return run_webcam(int(webcam[0][7:]), transform, args.output)

    images = [job for job in jobs if not job.is_video]
    failed = kept = 0
    with tqdm(total=len(images), unit="img", dynamic_ncols=True, disable=len(images) < 2) as bar:
        for job in images:
            bar.update(1)
            outcome, image = open_job(job, args.overwrite)
            kept, failed = kept + (outcome == "kept"), failed + (outcome == "failed")
            if image is None:
                continue
            try:
                stylized = transform(image)
            except FstError as e:  # an image this model cannot take (too small): the others still can
                tqdm.write(f"error: {job.source}: {e}; skipped", file=sys.stderr)
                failed += 1
                continue
            save_image(stylized, job.target)
    for job in jobs:
        if not job.is_video:
            continue
        if keep_existing(job, args.overwrite):
            kept += 1
            continue
        try:
            with tqdm(total=count_frames(job.source), unit="frame", dynamic_ncols=True, desc=job.source.name) as bar:
                transform_video(job.source, job.target, transform, lambda: bar.update(1))
        except (FstError, av.error.FFmpegError) as e:
            print(f"error: {job.source}: {e}; skipped", file=sys.stderr)
            failed += 1
    return report(len(jobs), failed, kept, args.output)


def keep_existing(job, overwrite: bool) -> bool:
    """True, and said, when the job's output exists and may not be replaced."""
    from tqdm import tqdm

    if job.target.exists() and not overwrite:
        tqdm.write(f"kept existing {job.target} (use --overwrite to replace it)")
        return True
    return False


def open_job(job, overwrite: bool) -> tuple[str, Image.Image | None]:
    """("kept", None) when the output exists and may not be replaced, ("failed", None) for an unreadable input,
    else ("read", image); the first two are reported here."""
    from tqdm import tqdm

    if keep_existing(job, overwrite):
        return "kept", None
    try:
        return "read", open_image(job.source)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        tqdm.write(f"error: cannot read {job.source} ({e}); skipped", file=sys.stderr)
        return "failed", None


def report(total: int, failed: int, kept: int, output: str) -> int:
    """The closing line; the exit code is 1 when any input failed."""
    done = total - failed - kept
    print(f"wrote {done} file{'s' * (done != 1)}" + (f", {failed} failed" if failed else "") + f" -> {output}")
    return 1 if failed else 0


def optimize_main(args) -> int:
    """infer.py --optimize: Gatys et al.'s optimization for every input image."""
    from tqdm import tqdm

    from fst.config import LossConfig, load_config
    from fst.losses import perceptual_loss
    from fst.media import plan_jobs, save_image
    from fst.optimize import optimize_image
    from fst.hardware import resolve_device
    from fst.trainer import load_style_image

    if args.style is None or args.model is not None:
        raise FstError("--optimize takes --style STYLE_IMAGE and no --model")
    if args.output is None:
        raise FstError("--output is required (a file for one input, else a folder)")
    loss_config = load_config(args.config, check_paths=False).loss if args.config else LossConfig()
    jobs = plan_jobs(args.input, args.output)
    if any(job.is_video for job in jobs):
        raise FstError("--optimize works on images only; stylize videos with a trained model")
    device = resolve_device(args.device)
    loss_fn = perceptual_loss(loss_config, load_style_image(args.style, loss_config.style_size), device)
    failed = kept = 0
    for job in jobs:
        outcome, photo = open_job(job, args.overwrite)
        kept, failed = kept + (outcome == "kept"), failed + (outcome == "failed")
        if photo is None:
            continue
        alpha = photo.getchannel("A") if photo.mode == "RGBA" else None
        photo = photo.convert("RGB")
        if args.size:
            photo = resize_long_side(photo, args.size)
            alpha = alpha.resize(photo.size) if alpha is not None else None
        with tqdm(total=args.iters, unit="it", dynamic_ncols=True, desc=job.source.name) as bar:

            def show(_: int, terms: dict[str, float], __: torch.Tensor) -> None:
                bar.update(1)
                bar.set_postfix_str(
                    f"loss {terms['total']:.4g} (content {terms['content']:.3g}, style {terms['style']:.3g})"
                )

            image, _ = optimize_image(
                to_tensor(photo).unsqueeze(0).to(device), loss_fn, args.iters, args.optimizer, args.lr, show
            )
        save_image(finish(photo, to_image(image[0]), alpha, args.preserve_colors, args.strength), job.target)
    return report(len(jobs), failed, kept, args.output)


def run_webcam(index: int, transform, output: str | None) -> int:
    """Live preview in a window (q or Esc quits); frames are also recorded to `output` when given."""
    from fst.media import import_cv2, webcam_frames

    cv2 = import_cv2()
    frames = webcam_frames(index)
    writer = None
    try:
        for frame in frames:
            styled = transform(frame)
            bgr = cv2.cvtColor(np.asarray(styled.convert("RGB")), cv2.COLOR_RGB2BGR)
            cv2.imshow(f"fst webcam:{index} (q quits)", bgr)
            if output is not None:
                writer = writer or cv2.VideoWriter(output, cv2.VideoWriter_fourcc(*"mp4v"), 30, styled.size)
                writer.write(bgr)
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                break
    finally:
        if writer is not None:
            writer.release()
        cv2.destroyAllWindows()
    return 0


def cli() -> None:
    """Console-script entry point (`fst-infer`), also what infer.py calls."""
    sys.exit(run_cli(main))
