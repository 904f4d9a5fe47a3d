"""The library's way to stylize a picture: `Stylizer`, one loaded model with its options.

    from fst import Stylizer
    Stylizer("exports/demo.onnx").stylize(Image.open("photo.jpg")).save("out.jpg")

The model is an exported .onnx file (onnxruntime) or a training checkpoint (PyTorch), see fst.backends. Images
too large for the memory budget are stylized in tiles (fst.tiling); a style scale runs the network on a smaller
copy and upsamples its output along the photo (fst.guided). `Stylizer.video()` stylizes the frames of a video in
order, stabilized over time: with the style's stable variant where one is shipped, and a filter (fst.temporal).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from fst.arbitrary import model_to_run
from fst.architectures import MIN_SIDE
from fst.blend import style_weights
from fst.catalogue import resolve, trained_stable
from fst.errors import FstError, UsageError
from fst.guided import guided_upsample
from fst.images import check_image_size, finish, from_array, open_image, resize_long_side, split_alpha, to_array
from fst.options import PAINTING_WORKING_SIDE, STYLE_SCALE, Options
from fst.runtimes import load_backend
from fst.temporal import BLEND, TemporalFilter
from fst.tiling import (
    TILE_STEP,
    choose_tile,
    context_margin,
    memory_budget,
    stylize_tiled,
    thumbnail_side,
)


class Stylizer:
    """One loaded model. `stylize(image)` returns a stylized PIL image of the same size (RGBA when the input has
    transparency: the alpha channel is carried through unchanged).

    max_memory: the memory budget in GB (default: an eighth of the RAM, 1 to 3 GB; half the GPU's free memory);
        an image whose whole-image pass would exceed it is stylized in the largest tiles that fit.
    tile / overlap: stylize in tiles of at most tile x tile pixels whatever the budget, their cores blended over
        `overlap` pixels; each tile runs with the network's receptive field of context around it (fst.tiling).
    style_scale: run the network on a copy at most this many pixels on the long side and bring the result to full
        size with guided upsampling (fst.guided), so strokes keep their size relative to the image at any resolution;
        STYLE_SCALE (1280) by default, None for full resolution (strokes as fine as on a 256-pixel crop).
    preserve_colors: keep the photo's colours, take only the luminance from the style.
    strength: 1 is the network's output, 0 the photo, in between a linear blend.
    fast: run the fast variant, NAME-fast.onnx beside NAME.onnx (fst.catalogue.resolve), in its place.
    int8: on a CPU whose int8 arithmetic is fast (fst.devices.fast_int8), run NAME-int8.onnx in place of
        NAME.onnx when it stays within 35 dB PSNR of it (fst.catalogue.int8_sibling); `self.choice` says which.
    compile: on a GPU through PyTorch, compile the network once per image size (fst.gpu): about a minute each,
        repaid over the frames of a long video or the webcam.
    runtime: for an .onnx file on the CPU, onnxruntime or openvino; auto: the faster on this CPU, measured once
        (fst.runtimes). `self.runtime` says which runs and `self.runtime_reason` why.
    style: for a model of several styles (`self.styles` names them), which one or which blend: a name,
        "starry_night=0.7,wave=0.3" or {"starry_night": 0.7, "wave": 0.3} (fst.blend); the first style if None.
    painting: any painting's image file, for the arbitrary-style model (`model` "arbitrary", the default then):
        its statistics are built into a copy of the model once (fst.arbitrary) and `strength` blends features, not
        pixels. That model takes the whole image at once (no tiles): larger than PAINTING_WORKING_SIDE, an image
        runs at that size and is upsampled along the photo unless style_scale says otherwise.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        device: str = "auto",
        tile: int | None = None,
        overlap: int = 0,
        preserve_colors: bool = False,
        strength: float = 1.0,
        max_memory: float | None = None,
        style_scale: int | None = STYLE_SCALE,
        int8: bool = True,
        fast: bool = False,
        compile: bool = False,
        style: str | dict[str, float] | None = None,
        runtime: str = "auto",
        painting: str | Path | None = None,
    ) -> None:
        options = Options(device, tile, overlap, preserve_colors, strength, max_memory, style_scale, int8, fast,
                          compile, style, runtime, painting)  # fmt: skip
        if model is None and painting is None:
            raise UsageError("model: expected an .onnx file, a checkpoint or a style's name (or a painting)")
        path, _ = resolve("arbitrary" if model is None else model, fast)  # load_backend says what runs and why
        path = model_to_run(path, painting, strength)
        if painting is not None:  # the strength is in the painting's model, which runs whole
            options = dataclasses.replace(options, strength=1.0, style_scale=style_scale or PAINTING_WORKING_SIDE)
        self.options = options
        self.model_file = path  # before an int8 copy may take its place: what video() finds a stable variant of
        loaded = load_backend(path, path if model is None else Path(model), device, int8, runtime)
        self.backend, path, cuda = loaded.backend, loaded.path, loaded.cuda
        self.choice = loaded.choice  # why another file than `model` runs, if one does
        if painting is not None:
            self.choice = f"the painting {painting}: its statistics built into {path} (made once, then cached)"
        self.runtime, self.runtime_reason = loaded.runtime, loaded.runtime_reason
        self.path = path
        self.styles = self.backend.styles
        weights = style_weights(self.styles, style, path)
        if weights is not None:
            self.backend.use_style(weights)
        if tile is not None and tile < self.smallest_tile:
            raise UsageError(f"tile {tile}: this network needs {self.margin} pixels of context on each side of a tile "
                             f"(its receptive field) and {overlap} to blend: expected at least {self.smallest_tile}")
        self.max_memory = math.inf if painting is not None else options.max_memory or memory_budget(cuda)
        self.frames = None  # uint8 frames in and out: on a GPU (fst.gpu), or in OpenVINO's compiled graph
        if getattr(getattr(self.backend, "device", None), "type", None) == "cuda":  # PyTorch on a GPU
            from fst.gpu import FrameStylizer

            self.frames = FrameStylizer(self.backend.model, self.backend.device, compile=compile)
        elif getattr(self.backend, "takes_frames", False):
            self.frames = self.backend.frames

    def stylize(
        self, image: Image.Image | np.ndarray | str | Path | list, on_tile: Callable[[int, int], None] | None = None
    ) -> Image.Image | np.ndarray | list:
        """A PIL image, a uint8 array of H x W x 3 (RGB) or 4 (RGBA), or an image file's path; an array comes
        back as an array of the same shape, anything else as a PIL image. A batch: a list of any of these (a list
        back), or an N x H x W x 3 (or 4) array (an array back). on_tile(done, total) follows an image stylized in
        tiles, after each tile."""
        if isinstance(image, (list, tuple)):
            return [self.stylize(item, on_tile) for item in image]
        if isinstance(image, np.ndarray) and image.ndim == 4 and image.dtype == np.uint8 and len(image):
            return np.stack([self.stylize(frame, on_tile) for frame in image])
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
                raise FstError(f"an array of shape {image.shape} and type {image.dtype}: expected H x W x 3 (RGB) or "
                               "H x W x 4 (RGBA) of uint8, or N of them (N x H x W x 3)")  # fmt: skip
            height, width, channels = image.shape
            check_image_size(width, height)
            options = self.options
            plain = options.strength == 1 and not options.preserve_colors and channels == 3
            plain = plain and not self.scales_down(width, height)
            if self.frames is not None and plain and min(height, width) >= MIN_SIDE and self.whole(width, height):
                return self.frames(image)  # from uint8 to uint8, no PIL and no float copy on the way
            return np.asarray(self.stylize(Image.fromarray(image), on_tile))
        if isinstance(image, (str, Path)):
            try:
                image = open_image(image)
            except (OSError, ValueError, Image.DecompressionBombError) as e:
                raise FstError(f"cannot read {image} ({e})") from None
        check_image_size(*image.size)
        photo, alpha = split_alpha(image)
        try:
            stylized = self.render(photo, on_tile)
            return finish(photo, stylized, alpha, self.options.preserve_colors, self.options.strength)
        except MemoryError:
            raise FstError(f"not enough memory to stylize a {photo.width}x{photo.height} image: resize it, or "
                           "give a smaller memory budget (--max-memory) for smaller tiles") from None  # fmt: skip

    def video(self, temporal: bool = True, parallel: bool = False) -> VideoStylizer:
        """A stylizer for the frames of one video, fed in order: see VideoStylizer. Stabilized (`temporal`), a
        style's network gives way to its stable variant where one is beside it (NAME-stable.onnx, fine-tuned with
        the temporal term: fst.catalogue.stable_sibling), which runs frame by frame: its strokes hold still by
        themselves, and the filter on top would cost more style than the flicker it removes (docs/video.md). Any
        other network gets the filter (fst.temporal). temporal=False: this network frame by frame, no filter.
        parallel: the frames of a file, which may be stylized several at a time (fst.video.transform_video): frame
        by frame in OpenVINO, they run on its streams, VideoStylizer.parallel of them at once; not for a live
        camera, where one frame at a time on every core comes back soonest."""
        stylizer, blend = (self, None) if not temporal else (self.stabilized[0] or self, self.stabilized[1])
        on_streams = parallel and blend is None and stylizer.runtime == "openvino"  # else frame_streams() is 1 too
        streams = stylizer.backend.frame_streams() if on_streams else 1
        if streams == 1:
            return VideoStylizer(stylizer, blend)
        streamed = copy.copy(stylizer)  # the same loaded network, its uint8 path on the streams
        streamed.frames = functools.partial(stylizer.backend.frames, streamed=True)
        return VideoStylizer(streamed, None, streams)

    @functools.cached_property
    def stabilized(self) -> tuple[Stylizer | None, float | None]:
        """What a stabilized video runs, decided once for all the videos of this stylizer: the stable variant (with
        this one's options) and no filter, else (None) this network, filtered unless it was trained stable."""
        stable, _ = resolve(self.model_file, video=True)
        if stable != self.model_file:  # self.model_file is already the fast variant where one was asked for
            return Stylizer(stable, **dataclasses.asdict(dataclasses.replace(self.options, fast=False))), None
        return None, None if trained_stable(self.model_file) else BLEND

    def render(self, photo: Image.Image, on_tile: Callable[[int, int], None] | None = None) -> Image.Image:
        """The network's picture of an RGB photo, at the photo's size (through the style scale when one is set)."""
        if self.scales_down(*photo.size):
            small = resize_long_side(photo, self.options.style_scale)
            return guided_upsample(photo, small, self.network(small, on_tile))
        if self.frames is not None and self.whole(*photo.size):
            return Image.fromarray(self.frames(np.asarray(photo)))
        return from_array(self.network(photo, on_tile)[0])

    def scales_down(self, width: int, height: int) -> bool:
        """Whether the style scale runs the network on a smaller copy of a picture of this size: it is longer than
        the scale, and its short side stays at least MIN_SIDE there."""
        long, short, scale = max(width, height), min(width, height), self.options.style_scale
        return scale is not None and long > scale and short * scale >= MIN_SIDE * long

    @functools.cached_property
    def margin(self) -> int:
        """The context each tile runs with on every side (fst.tiling.context_margin): measured once, when needed."""
        return context_margin(self.backend)

    @functools.cached_property
    def smallest_tile(self) -> int:
        """A tile must hold its margins and a core of at least 64 pixels, or twice the overlap and 4 more."""
        return 2 * self.margin + max(64, 2 * self.options.overlap + 4)

    def network(self, photo: Image.Image, on_tile: Callable[[int, int], None] | None = None) -> np.ndarray:
        """The network's output for an RGB image, (1, 3, H, W) float32, whole or in tiles as tile_for decides."""
        batch = to_array(photo)
        if self.whole(*photo.size):
            out = self.backend(batch)
        else:
            tile = self.tile_for(*photo.size)
            side = thumbnail_side(*photo.size, tile, self.max_memory)
            out = stylize_tiled(self.backend, batch, tile, self.options.overlap, self.margin, side, on_tile)
        if not np.isfinite(out).all():  # a damaged or diverged network: not a black picture written as a success
            raise FstError(f"{self.path} gave NaN or infinite values for a {photo.width}x{photo.height} image")
        return out

    def whole(self, width: int, height: int) -> bool:
        """Whether an image of this size is stylized in one pass (not in tiles)."""
        tile = self.tile_for(width, height)
        return tile is None or max(width, height) <= tile

    def tile_for(self, width: int, height: int) -> int | None:
        """The tile size for an image of this size: the one asked for, else what the memory budget allows (None:
        whole)."""
        if self.options.tile is not None:
            return self.options.tile
        tile = choose_tile(width, height, self.max_memory)
        return None if tile is None else max(tile, -(-self.smallest_tile // TILE_STEP) * TILE_STEP)


class VideoStylizer:
    """Stylizes the frames of one video in order, stabilized over time (fst.temporal): strokes follow the motion
    instead of boiling from frame to frame. Memory stays flat: only the previous frame is kept.

        video = Stylizer("exports/wave.onnx").video()
        for frame in frames:
            show(video.stylize(frame))

    blend: the temporal filter's (fst.temporal); None stylizes each frame on its own, exactly as Stylizer.stylize
    does (what a stable network needs). `stylizer.path` is the file that runs. Call reset() at a cut. parallel:
    how many frames stylize() may be given at once from as many threads (1: one after the other).
    """

    def __init__(self, stylizer: Stylizer, blend: float | None = BLEND, parallel: int = 1) -> None:
        self.stylizer = stylizer
        self.filter = TemporalFilter(blend) if blend is not None else None
        self.parallel = parallel

    def stylize(self, frame: Image.Image) -> Image.Image:
        if self.filter is None:
            return self.stylizer.stylize(frame)
        check_image_size(*frame.size)
        photo, alpha = split_alpha(frame)
        stable = self.filter(np.asarray(photo), np.asarray(self.stylizer.render(photo), dtype=np.float32))
        stylized = Image.fromarray(np.clip(stable + 0.5, 0, 255).astype(np.uint8))
        return finish(photo, stylized, alpha, self.stylizer.options.preserve_colors, self.stylizer.options.strength)

    def reset(self) -> None:
        """Start afresh, as at the first frame of a clip."""
        if self.filter is not None:
            self.filter.reset()
