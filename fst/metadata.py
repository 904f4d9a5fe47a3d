"""What an exported model says about itself: its metadata_props (style, training image size, architecture, the
styles of a model of several, the network a fast variant was made from), and folder/models.json, the same for every
model in a folder, for JavaScript, whose onnxruntime API does not read metadata."""

from __future__ import annotations

import json
from pathlib import Path

from fst.arbitrary import is_painting_input
from fst.architectures import SIDE_MULTIPLE
from fst.catalogue import ModelName
from fst.errors import FstError
from fst.files import atomic_write
from fst.onnxfile import onnx_metadata, proto_metadata

IO_CONVENTION = (
    "input 'image' and output 'stylized': float32 NCHW RGB in [0, 1], any batch; height and width multiples of "
    f"{SIDE_MULTIPLE} (pad other sizes by reflection on the right and bottom, crop the output back)"
)
STATIC_IO_CONVENTION = "input 'image' and output 'stylized': float32 NCHW RGB in [0, 1], of shape {shape}"
PADDED_IO_CONVENTION = (
    "input 'image' and output 'stylized': float32 NCHW RGB in [0, 1], any batch, any height and width of 8 or more "
    "(the graph pads by reflection and crops back itself)"
)


def metadata_for(config: dict, step: int) -> dict[str, str]:
    """What a runtime elsewhere may want to know about the model, from its training config; a distilled network
    also names its teacher's weights (`made_from`, fst.checkpoint.weights_digest)."""
    if config.get("styles"):  # a network of several styles: their names in the order of its `style` input
        styles = config["styles"]  # a list beside style_images, or a training config's name -> image
        images = [Path(image).name for image in config.get("style_images") or styles.values()]
        source = {"styles": json.dumps(list(styles)), "style_images": json.dumps(images)}
    else:
        made_from = {"made_from": config["made_from"]} if "made_from" in config else {}
        source = {"style_image": Path(config["style_image"]).name, **made_from}
    temporal = config.get("loss", {}).get("temporal_weight", 0)  # trained stable for video (fst.catalogue)
    model = config.get("model", {})
    shape = {key: str(model[key]) for key in ("width", "res_blocks") if key in model}  # the network's arguments
    return {
        "style": config["name"],
        "image_size": str(config["data"]["image_size"]),
        "steps": str(step),
        "architecture": model.get("architecture", "johnson"),
        **shape,
        **source,
        **({"temporal_weight": f"{temporal:g}"} if temporal else {}),
    }


def inherited_metadata(init: Path | None, style_image: str) -> dict[str, str]:
    """What a network fine-tuned from `init` (train.init) keeps of its metadata: where both learn the same style
    image, the style and the network it stands in for, so a fast variant fine-tuned under its teacher's loss is
    still that teacher's fast variant (fst.catalogue.fast_sibling). Nothing for a checkpoint or another style."""
    if init is None or init.suffix.lower() != ".onnx":
        return {}
    props = onnx_metadata(init)
    if "made_from" not in props or props.get("style_image") != Path(style_image).name:
        return {}
    return {key: props[key] for key in ("style", "made_from", "teacher") if key in props}


def model_index(folder: str | Path) -> dict:
    """What a JavaScript page needs to offer the models in `folder`: each model's file, style, precision and
    variant (fst.catalogue.ModelName: full, fast, stable or fast-stable) and architecture (johnson, or realtime:
    the network built for CPUs and the browser) from its metadata and name, the styles of a model of several
    (fed as the weights of its input `style`, in that order), `kind: arbitrary` for the model that takes any
    painting (fst.arbitrary), and the I/O convention they share.
    Written to folder/models.json by `--index`."""
    import onnx

    models = []
    for path in sorted(p for p in Path(folder).glob("*.onnx") if not p.name.startswith(".")):  # not temp files
        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as e:  # onnx raises its own exception types for unreadable files
            raise FstError(f"{path} is not a loadable ONNX model ({str(e).splitlines()[0]})") from None
        props = proto_metadata(proto)
        if "style" not in props:
            continue  # not an fst model
        inputs = [i.name for i in proto.graph.input]
        arbitrary = props.get("kind") == "arbitrary" and inputs[0] == "image" and all(map(is_painting_input, inputs[1:]))
        if (inputs not in (["image"], ["image", "style"]) and not arbitrary) or not props.get("image_size", "0").isdigit():
            raise FstError(
                f"{path} is not an fst model: expected the input image (and style, for several styles) and a whole "
                f"number as its image_size metadata, found inputs {', '.join(inputs)} and {props.get('image_size')!r}"
            )
        several = {"styles": json.loads(props["styles"])} if "styles" in props else {}  # the style input's order
        kind = {"kind": "arbitrary"} if arbitrary else {}  # any painting: its statistics are inputs (fst.arbitrary)
        models.append(
            {
                **several,
                **kind,
                "file": path.name,
                "style": props["style"],
                "precision": props.get("precision", "fp32"),
                "variant": ModelName.parse(path).variant,
                "architecture": props.get("architecture", "johnson"),  # realtime: built for CPUs and the browser
                "image_size": int(props.get("image_size", "0")),
                "input_shape": [d.dim_value or d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim],
                "io": props.get("io", IO_CONVENTION),
            }
        )
    io = {"input": "image", "output": "stylized", "layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}
    return {"io": {**io, "side_multiple": SIDE_MULTIPLE, "pad_mode": "reflect"}, "models": models}


def write_model_index(folder: str | Path) -> Path:
    """folder/models.json from model_index(folder), written whole or not at all."""
    index = model_index(folder)
    path = Path(folder) / "models.json"
    with atomic_write(path) as tmp:
        Path(tmp).write_text(json.dumps(index, indent=2) + "\n")
    return path
