"""The model catalogue: which file a model's name means (a style's name as exports/NAME.onnx, here or shipped with
the package; models.json, the shipped list), and which copies stand in for a network: an int8 copy
(NAME-int8.onnx), a fast variant (NAME-fast.onnx) or a stable one (NAME-stable.onnx, for video) runs in place of
NAME only when its metadata says it was made from the weights now in NAME (`made_from`), read with onnx alone, so a
network retrained under the same name never has its old copies run beside it."""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from fst.errors import ConfigError, FstError
from fst.onnxfile import onnx_metadata, onnx_weights_digest

INT8_MIN_PSNR_DB = 35.0  # below this an int8 copy looks different enough that fp32 stays the default

HERE = Path(__file__).resolve().parent
SHIPPED_FOLDERS = (HERE.parent / "exports", HERE / "share" / "exports")  # a checkout's; an installed package's
SHIPPED_TERMS = (
    "code: MIT; networks: trained on BSDS300 photos, for non-commercial research and education (model card: "
    "exports/<style>.md); paintings: public domain"
)


def shipped_folder() -> Path | None:
    """Where the shipped styles are: the checkout's exports/ or, installed from a wheel, fst/share/exports."""
    return next((folder for folder in SHIPPED_FOLDERS if (folder / "models.json").is_file()), None)


def shipped_models() -> list[dict]:
    """The shipped models as exports/models.json lists them (file, style, precision, variant, ...), with their
    size in bytes; a damaged list is a one-line FstError that says how to write it anew."""
    folder = shipped_folder()
    if folder is None:
        return []
    index = folder / "models.json"
    try:
        models = json.loads(index.read_bytes())["models"]
        for m in models:
            fields = [m[key] for key in ("file", "style", "variant", "precision")] + list(m.get("styles", []))
            if not all(isinstance(field, str) for field in fields) or Path(m["file"]).name != m["file"]:
                raise ValueError("an entry's file, style, variant, precision or styles")
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError, IndexError) as e:
        why = f"no {e}" if isinstance(e, KeyError) else str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FstError(f"{index} is damaged ({why}): python export.py --index {folder} writes it anew") from None
    return [{**m, "bytes": (folder / m["file"]).stat().st_size} for m in models if (folder / m["file"]).is_file()]


def shipped_styles() -> list[str]:
    """The names of the shipped styles, for messages that list them: none where models.json is damaged (what
    `--list` reports)."""
    try:
        return sorted({m["style"] for m in shipped_models()})
    except FstError:
        return []


def style_file(name: str, exports: Path) -> Path | None:
    """A style's name (`wave`) as `exports`/wave.onnx, else among the shipped styles; None for anything else."""
    if Path(name).suffix or len(Path(name).parts) != 1:
        return None
    return next((f / f"{name}.onnx" for f in (exports, *SHIPPED_FOLDERS) if (f / f"{name}.onnx").is_file()), None)


def init_model(value: str, exports: Path, source: str = "config") -> Path | None:
    """The model a config's train.init names (None for none): a checkpoint or .onnx file, or the name of a style in
    `exports` (output.exports_dir) or among the shipped ones; ConfigError naming `source` otherwise."""
    if not value:
        return None
    if Path(value).is_file():
        return Path(value)
    if (named := style_file(value, exports)) is not None:
        return named
    exported = [p for p in exports.glob("*.onnx") if not p.stem.endswith("-int8") and not p.name.startswith(".")]
    styles = sorted(p.stem for p in exported)
    raise ConfigError(f"{source}: train.init = {value!r}: expected a checkpoint, an .onnx file or a style in "
                      f"{exports}/ ({', '.join(styles) or 'none there'}) or shipped ({', '.join(shipped_styles())})")


def find_model(model: str | Path) -> Path:
    """The model file: a path as given, or a style's name (`wave`) as exports/wave.onnx under the current folder
    or among the shipped styles."""
    path = Path(model)
    if path.is_file():
        return path
    if (named := style_file(str(model), Path("exports"))) is not None:
        return named
    names = sorted({*shipped_styles(), *(p.stem for p in Path("exports").glob("*.onnx") if not p.name.startswith("."))})
    close = difflib.get_close_matches(str(model), names, n=1, cutoff=0.6) if not path.suffix else []
    hint = f"; did you mean {close[0]}?" if close else ""
    raise FstError(f"model not found: {path} (expected an .onnx file, a training checkpoint .pt, or a style: "
                   f"{', '.join(shipped_styles()) or 'none shipped here'}){hint}")  # fmt: skip


@dataclass(frozen=True)
class ModelName:
    """What a model file's name says, NAME[-fast][-stable][-int8].onnx: the style (NAME: the joined names of a
    network of several), whether it is the fast variant (the realtime network distilled from NAME.onnx), the
    stable one (fine-tuned for video: of NAME, or of NAME-fast) and an int8 copy. Every rule about the ends of a
    model's name is here; what a name cannot say (the architecture, the styles of several) is in its metadata."""

    style: str
    fast: bool = False
    stable: bool = False
    int8: bool = False

    @classmethod
    def parse(cls, path: str | Path) -> ModelName:
        stem = Path(path).stem
        int8, stem = stem.endswith("-int8"), stem.removesuffix("-int8")
        stable, stem = stem.endswith("-stable"), stem.removesuffix("-stable")
        fast, stem = stem.endswith("-fast"), stem.removesuffix("-fast")
        return cls(stem, fast, stable, int8)

    @property
    def file(self) -> str:
        return f"{self.style}{'-fast' * self.fast}{'-stable' * self.stable}{'-int8' * self.int8}.onnx"

    @property
    def variant(self) -> str:
        """full, fast, stable or fast-stable: which network, whatever its precision (models.json's `variant`)."""
        return "-".join(["fast"] * self.fast + ["stable"] * self.stable) or "full"

    @property
    def source(self) -> ModelName | None:
        """What this copy is made from: an int8 copy from its network, a stable variant fine-tuned from the
        network it steadies, a fast one distilled from NAME; None for NAME itself."""
        if self.int8:
            return replace(self, int8=False)
        if self.stable:
            return replace(self, stable=False)
        return replace(self, fast=False) if self.fast else None

    def copies(self) -> list[ModelName]:
        """Every copy that may stand beside this network, each after the one it is made from."""
        return [ModelName(self.style, fast, stable, int8) for fast in (False, True) for stable in (False, True)
                for int8 in (False, True) if fast or stable or int8]  # fmt: skip


def has_fast_variant(asked: str | Path) -> bool:
    """Whether what was asked has a fast variant made from it, which resolve(asked, fast=True) runs."""
    try:
        resolve(asked, fast=True)
    except FstError:
        return False
    return True


def resolve(asked: str | Path, fast: bool = False, video: bool = False) -> tuple[Path, str]:
    """The file that runs for what was asked (a path or a style's name, find_model): its fast variant for `fast`
    (fast_sibling: an error where there is none), then for `video` a stable variant of that where one was made
    from it (stable_sibling). Returns the file and why it is not the one named ("" when it is). An int8 copy is
    the device's choice, made when the file is loaded (fst.runtimes, int8_sibling)."""
    named = find_model(asked)
    path = fast_sibling(named) if fast else named
    stable = stable_sibling(path) if video else None
    why = [f"{path.name}, the realtime network distilled from {named.name}" if path != named else "",
           f"{stable.name}, fine-tuned for video from {path.name}" if stable else ""]  # fmt: skip
    return stable or path, "; ".join(filter(None, why))


def made_from(copy: Path, network: Path) -> bool:
    """Whether `copy` (an int8 copy or a distilled variant) records in its metadata that it was made from the
    weights now in `network`. A network retrained under the same name leaves its old copies beside it, and
    running them would show the old network's picture."""
    try:
        return onnx_metadata(copy).get("made_from") == network_digest(network)
    except Exception:  # an unreadable file, or a network that is not fst's: no proof either way
        return False


def network_digest(path: Path) -> str:
    """fst.checkpoint.weights_digest of the network in an fp32 export (read without PyTorch) or a checkpoint."""
    if path.suffix.lower() == ".onnx":
        return onnx_weights_digest(path)
    from fst.checkpoint import load_model, weights_digest

    return weights_digest(load_model(path)[0])


def int8_sibling(path: Path) -> tuple[Path | None, float, str]:
    """NAME-int8.onnx beside NAME.onnx when it may run in its place: made from NAME.onnx's weights and within
    INT8_MIN_PSNR_DB of it by its metadata. Returns (the copy or None, its PSNR, why a copy there is not used:
    said only when it was made from another network, since the other refusals are by design)."""
    name = ModelName.parse(path)
    sibling = path.with_name(replace(name, int8=True).file)
    if path.suffix != ".onnx" or name.int8 or not sibling.is_file():
        return None, math.nan, ""
    try:
        props = onnx_metadata(sibling)
        psnr = float(props.get("psnr_db", "nan"))
    except Exception:  # an unreadable sibling is not a reason to refuse the model asked for
        return None, math.nan, ""
    if props.get("precision") != "int8" or not psnr >= INT8_MIN_PSNR_DB:
        return None, psnr, ""
    if not made_from(sibling, path):
        return None, psnr, (
            f"not running {sibling}: it was made from another network than {path} "
            f"(remake it: python export.py {path} -o {sibling} --int8 --photos DIR)"
        )
    return sibling, psnr, ""


def fast_sibling(path: Path) -> Path:
    """NAME-fast.onnx beside NAME.onnx (or NAME-int8.onnx): the faster network distilled from NAME (distill.py;
    the shipped ones are realtime networks, about 9x faster on a CPU). FstError when there is none, or when it was
    distilled from another network than the NAME.onnx now there."""
    if path.suffix != ".onnx":
        raise FstError(f"fast: {path} is a checkpoint; the fast variant is an export, NAME-fast.onnx beside NAME.onnx")
    name = ModelName.parse(path)
    fast = path if name.fast and not name.stable else path.with_name(ModelName(name.style, fast=True).file)
    if not fast.is_file():
        raise FstError(f"fast: no {fast} beside {path} (distill.py makes one from {name.style}.onnx)")
    network = path.with_name(f"{name.style}.onnx")
    if fast != path and not made_from(fast, network):
        raise FstError(
            f"fast: {fast} was distilled from another network than {network}: distill it again from "
            f"{network.name}, or name it with --model to run it anyway"
        )
    return fast


def stable_sibling(path: Path) -> Path | None:
    """NAME-stable.onnx beside NAME.onnx (or NAME-int8.onnx): NAME fine-tuned with the temporal term
    (loss.temporal_weight), whose strokes hold still from frame to frame, which a video runs in NAME's place
    (Stylizer.video); NAME may be a fast variant (NAME-fast-stable.onnx beside NAME-fast.onnx). None when there is
    none, when `path` is a stable variant itself, or when it was made from another network than the NAME.onnx now
    there."""
    name = replace(ModelName.parse(path), int8=False)
    if path.suffix != ".onnx" or name.stable:
        return None
    stable, network = path.with_name(replace(name, stable=True).file), path.with_name(name.file)
    return stable if stable.is_file() and made_from(stable, network) else None


def trained_stable(path: Path) -> bool:
    """Whether the network in `path` was trained with the temporal term: its export's metadata `temporal_weight`
    (fst.metadata.metadata_for), or a checkpoint's config."""
    try:
        if path.suffix.lower() == ".onnx":
            return float(onnx_metadata(path).get("temporal_weight", "0")) > 0
        from fst.checkpoint import load_checkpoint

        return float(load_checkpoint(path)["config"].get("loss", {}).get("temporal_weight", 0)) > 0
    except Exception:  # unreadable here: the model's own loading says why, and an unknown network is not stable
        return False
