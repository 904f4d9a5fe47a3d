"""Running an ONNX model with onnxruntime (or OpenVINO behind the same interface): the session, images of any size
padded by reflection to the side multiple an exported graph takes (fst.export says why) and the output cropped
back, a runtime's failure as one line, and the checks on load that a file is an fst network and that its style
input agrees with its metadata. What every user of an export shares: the backends, the exports' verification,
the painting's model, distillation's teachers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fst.architectures import SIDE_MULTIPLE
from fst.errors import FstError


def onnx_session(model, providers: list[str] | None = None, arena: bool = True, runtime: str = "onnxruntime"):
    """An onnxruntime session for a model given as a path or an in-memory ModelProto (CPU unless told), or for
    runtime="openvino" an OpenVINO one with the same interface (fst.ovsession).

    arena=False returns freed memory to the system instead of keeping it for the next run: for the tile
    sessions, where it lowers the peak by a third (24 MP in tiles of 512: 1.9 GB against 3.2 GB) at 10% of speed.
    """
    if runtime == "openvino":
        from fst.ovsession import OpenVinoSession

        return OpenVinoSession(model)
    import onnxruntime

    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = arena
    return onnxruntime.InferenceSession(source, options, providers=providers or ["CPUExecutionProvider"])


def fixed_size(session) -> tuple[int, int] | None:
    """(height, width) of a model exported with --static, None for one that takes any size."""
    height, width = session.get_inputs()[0].shape[2:]
    return (height, width) if isinstance(height, int) and isinstance(width, int) else None


def pad_to_multiple(images: np.ndarray) -> np.ndarray:
    """Reflection-pad the right and bottom of (N, C, H, W) `images` to sides that are multiples of SIDE_MULTIPLE,
    as fst.transformer.pad_to_multiple does in PyTorch."""
    height, width = images.shape[-2:]
    bottom, right = (-height) % SIDE_MULTIPLE, (-width) % SIDE_MULTIPLE
    if not bottom and not right:
        return images
    return np.pad(images, ((0, 0), (0, 0), (0, bottom), (0, right)), mode="reflect")


def run_failed(error: Exception, width: int, height: int) -> FstError:
    """A runtime's failure on an image as one line: the first line of its message (the last 300 characters)."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0][-300:]
    return FstError(f"the model failed on a {width}x{height} image ({first})")


def run_onnx(session, images: np.ndarray, feeds: dict | None = None) -> list[np.ndarray]:
    """session.run on (N, 3, H, W) `images` of any size: padded by reflection to sides that are multiples of 4
    for a dynamic-size graph, fed as they are to a --static one; the first output is cropped back to H x W."""
    height, width = images.shape[-2:]
    size = fixed_size(session)
    if size is not None and size != (height, width):
        raise FstError(f"this model was exported for {size[0]}x{size[1]} images only, not {height}x{width}")
    padded = images if size else pad_to_multiple(images)
    try:
        outputs = session.run(None, {"image": np.ascontiguousarray(padded, dtype=np.float32), **(feeds or {})})
    except Exception as e:  # the runtime's own types (out of memory, a shape it cannot run), MemoryError
        raise run_failed(e, width, height) from None
    if outputs[0].shape[-2:] != padded.shape[-2:]:  # a size its graph did not say it would change
        got, fed = "x".join(map(str, outputs[0].shape[-2:])), "x".join(map(str, padded.shape[-2:]))
        raise FstError(f"this model returned a {got} picture for a {fed} image: an fst network keeps the size")
    return [outputs[0][..., :height, :width], *outputs[1:]]


def check_fst_model(session, path: Path) -> None:
    """An fst network takes one input `image` and gives one output, both float32 NCHW with 3 channels; a network
    of several styles also takes `style`, one float32 weight per style."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [a.name for a in inputs] == ["image", "style"] and len(inputs[1].shape) == 1:
        inputs = inputs[:1]

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
    # Where both sides name or fix their height and width, they must be the same: a model that changes the size
    # (an upscaler) has no place in a blend with the photo (strength, preserve colours) or a tile.
    for axis, name in ((2, "height"), (3, "width")):
        given, returned = inputs[0].shape[axis], outputs[0].shape[axis]
        plain = [isinstance(d, int) or (isinstance(d, str) and d.isidentifier()) for d in (given, returned)]
        if all(plain) and given != returned:  # a formula (an older export's padding arithmetic) is left to run()
            raise FstError(
                f"{path} is not an fst model: it changes the picture's size ({name} {given} in, {returned} out); "
                "an fst network returns a picture of the size it is given"
            )


def check_style_input(session, styles: list[str], path: Path) -> None:
    """A network of several styles takes one weight per style its metadata names: refused on load otherwise,
    where a run would fail (or blend the wrong styles) later."""
    inputs = {a.name: a for a in session.get_inputs()}
    if "style" not in inputs:
        if styles:
            raise FstError(f"{path}: its metadata names {len(styles)} styles, but it has no input 'style' to take them")
        return
    length = inputs["style"].shape[0]
    if not styles or (isinstance(length, int) and length != len(styles)):
        raise FstError(
            f"{path}: its input 'style' takes {length} weights, but its metadata names {len(styles)} styles "
            f"({', '.join(styles) or 'no metadata styles'}): expected one name per weight"
        )
