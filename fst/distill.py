"""Distillation: a network trained to give the output of trained ones, for CPUs that need speed; an objective and a
data source of the one Trainer (fst.trainer), which brings its schedule, checkpoints, resume and signals.

A width-16 network does a third of the arithmetic of the width-32 one. Trained from scratch against VGG it would
cost what the full network cost; trained to reproduce the full network's output it needs no VGG at all: the loss
is the mean squared error between the two networks' outputs on the same photos, a dense per-pixel target that a
few thousand CPU steps fit. Each photo is one fixed square crop, and the teacher's output for it is computed once
and kept. The crop must be fixed: instance norm makes the output depend on the whole input, so a crop of the
teacher's output on a larger photo is not what the teacher gives for the crop itself.

Several teachers, one per style, make a network of several styles (fst.transformer: the convolutions shared, each
style its own instance-norm scales and shifts): each photo of a batch is given to one style in turn, against that
style's teacher. Where the student has the first teacher's shape it starts from the first teacher's weights, every
style from its norms: the shared convolutions then start from a trained network rather than from noise.

The result is an ordinary checkpoint (the teacher's style with the student's network), which export.py, infer.py
and train.init take as they take any other.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from fst.checkpoint import load_checkpoint, load_network, weights_digest
from fst.config import DISTILL_DEFAULTS, Config, config_from_dict
from fst.data import PositionSampler, center_crop, load_croppable, to_tensor
from fst.errors import FstError
from fst.images import load_rgb, resize_long_side
from fst.onnxfile import onnx_metadata
from fst.onnxrun import onnx_session, run_onnx
from fst.quantize import psnr
from fst.transformer import TransformerNet


def teacher_config(path: str | Path) -> dict[str, Any]:
    """The training config of the teacher: from its checkpoint, or rebuilt from an export's metadata (the keys
    fst.metadata.metadata_for reads)."""
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        return copy.deepcopy(load_checkpoint(path)["config"])
    props = onnx_metadata(path)
    if "style" not in props:
        raise FstError(f"{path} has no fst metadata (style, style_image, image_size): export it with fst.export")
    return {
        "name": props["style"],
        "style_image": props.get("style_image", ""),
        "data": {"image_size": int(props.get("image_size", 256))},
    }


def load_crops(paths: list[Path], size: int) -> tuple[torch.Tensor, list[str]]:
    """The central size x size square of each readable photo as uint8 (N, 3, size, size), and the names of those
    that could not be read."""
    crops, skipped = [], []
    for path in paths:
        try:
            crops.append((to_tensor(center_crop(load_croppable(path), size)) * 255).round().to(torch.uint8))
        except (OSError, ValueError, Image.DecompressionBombError):
            skipped.append(path.name)
    if not crops:
        raise FstError(f"none of the {len(paths)} photos given for distillation could be read")
    return torch.stack(crops), skipped


class OnnxTeacher(torch.nn.Module):
    """A teacher that runs only as ONNX: a painting's model (fst.arbitrary), so that any painting, with no network
    trained for it, can teach a realtime network. onnxruntime on the CPU; images in and out as tensors."""

    styles, architecture, width, res_blocks = 1, "painting", 0, 0

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.session = onnx_session(path)
        self.digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()  # what a student was made from

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(run_onnx(self.session, image.detach().float().cpu().numpy())[0]).to(image.device)


def load_teacher(path: str | Path) -> TransformerNet | OnnxTeacher:
    """A trained network (checkpoint or fp32 export), or a painting's model (fst.arbitrary) as an OnnxTeacher."""
    if Path(path).suffix.lower() == ".onnx" and onnx_metadata(path).get("kind") == "painting":
        return OnnxTeacher(path)
    return load_network(path)


def distill_config(teachers: list[str], photos: str | Path, run_dir: str | Path, name: str = "",
                   exports_dir: str | Path = "exports", **settings: Any) -> Config:  # fmt: skip
    """The training config of a distillation (fst.trainer.Trainer runs it): the student's network and schedule,
    `settings` over DISTILL_DEFAULTS, in `run_dir`; named after its teacher's style, the teachers' styles joined
    for several, unless `name`. A checkpoint teacher's temporal weight is kept: a stable teacher's student is too."""
    s = {**DISTILL_DEFAULTS, **settings}
    configs = [teacher_config(path) for path in teachers]
    names = [c["name"] for c in configs]
    if len(set(names)) < len(names):
        raise FstError(f"two teachers have the same style name ({', '.join(names)}): one teacher a style")
    temporal = configs[0].get("loss", {}).get("temporal_weight", 0) if len(teachers) == 1 else 0
    raw = {
        "name": name or "-".join(names),
        "style_image": configs[0].get("style_image", "") if len(teachers) == 1 else "",
        "data": {"root": str(photos), "image_size": s["image_size"], "batch_size": s["batch_size"],
                 "holdout": s["holdout"], "workers": 0},
        "model": {"width": s["width"], "res_blocks": s["res_blocks"], "architecture": s["architecture"]},
        "loss": {"temporal_weight": temporal},
        "train": {"steps": s["steps"], "lr": s["lr"], "warmup_steps": s["warmup_steps"], "seed": s["seed"],
                  "device": s["device"], "checkpoint_every": s["save_every"], "sample_every": s["save_every"],
                  "log_every": s["log_every"], "keep_last": 2, "precision": "fp32"},
        "output": {"runs_dir": str(Path(run_dir).parent), "run_dir": str(run_dir), "exports_dir": str(exports_dir)},
        "distill": {"teachers": [str(path) for path in teachers], "max_photos": s["max_photos"]},
    }  # fmt: skip
    return config_from_dict(raw, source="distillation", check_paths=False)


class DistillObjective:
    """A student TransformerNet under the mean squared error to its teachers' outputs on fixed crops (above), with
    its own data source (`loader`): the crops, each with its teacher's output and, for several, its style."""

    loss_network = None  # no VGG: the teachers' outputs are the targets
    terms = ("total",)

    def __init__(self, config: Config, device: torch.device, paths: list[Path]) -> None:
        self.config, self.device = config, device
        sources = config.distill.teachers
        self.teachers = [load_teacher(path).to(device) for path in sources]
        for path, teacher in zip(sources, self.teachers):
            if teacher.styles > 1:  # it would teach its first style alone, under the name of all of them
                raise FstError(f"--teacher {path} holds {teacher.styles} styles: give each style's own network as a "
                               "--teacher of its own (several teachers make a network of several styles)")  # fmt: skip
        self.teacher = self.teachers[0]
        if len(sources) == 1:
            self.fields = {"made_from": getattr(self.teacher, "digest", None) or weights_digest(self.teacher)}
        else:  # the names and paintings the export's `style` input is fed by, in the teachers' order
            configs = [teacher_config(path) for path in sources]
            self.fields = {"styles": [c["name"] for c in configs], "style_images": [c["style_image"] for c in configs]}
        self.paths = paths[:: max(1, -(-len(paths) // config.distill.max_photos))]
        model = config.model
        torch.manual_seed(config.train.seed)
        self.model = TransformerNet(model.width, model.res_blocks, model.architecture, len(sources))
        shape = (model.architecture, model.width, model.res_blocks)
        if len(sources) > 1 and (self.teacher.architecture, self.teacher.width, self.teacher.res_blocks) == shape:
            self.model.load_state_dict(self.teacher.with_styles(self.teacher.norm_rows().repeat(len(sources), 1))
                                       .state_dict())  # fmt: skip
        self.model.to(device)
        self.photos: torch.Tensor | None = None
        self.targets: torch.Tensor | None = None
        self.skipped: list[str] = []

    def prepare(self, on_photo: Callable[[int, int], None] = lambda done, total: None) -> None:
        """Crop the photos and run each teacher on each once (on_photo(done, total) after each photo)."""
        photos, self.skipped = load_crops(self.paths, self.config.data.image_size)
        self.photos = photos.to(self.device)
        targets = []  # (teachers, photos, 3, size, size) in fp16: 0.4 MB a photo and teacher at 256 px
        with torch.no_grad():
            for i, photo in enumerate(self.photos):
                targets.append(torch.stack([t(photo[None].float() / 255)[0].half() for t in self.teachers]))
                on_photo(i + 1, len(self.photos))
        self.targets = torch.stack(targets, 1)

    def loader(self, start: int, rank: int, world_size: int) -> Iterator[tuple[tuple[torch.Tensor, ...], list[str]]]:
        """What the trainer draws from in place of photo files, from data position `start`: each step's crops in
        fst.data.PositionSampler's order, with each one's teacher output and, for several styles, its style
        weights (each data position the next style in turn); no file is read, so none is unreadable."""
        if self.photos is None:
            self.prepare()
        size, count = self.config.data.batch_size, len(self.teachers)
        drawn = iter(PositionSampler(len(self.photos), self.config.train.seed, start, rank, world_size))
        position = start + rank
        while True:
            indices = torch.tensor([next(drawn)[0] for _ in range(size)])
            styles = (position + world_size * torch.arange(size)) % count
            position += world_size * size
            weights = (F.one_hot(styles, count).float().to(self.device),) if count > 1 else ()
            yield (self.photos[indices].float() / 255, self.targets[styles, indices].float(), *weights), []

    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self.model.parameters())

    def inputs(self, step: int, rank: int, position: int, photos: torch.Tensor) -> tuple[Any, ...]:
        return ()

    def losses(self, network: torch.nn.Module, photos: torch.Tensor, targets: torch.Tensor,
               weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
        return {"total": F.mse_loss(network(photos, weights).float(), targets)}

    def after_backward(self) -> None:
        pass

    def checkpoint_fields(self) -> dict[str, Any]:
        """`distill` marks a distillation's checkpoints (fst.checkpoint.clear_run); the teacher's digest, or the
        styles of several, go into the export's metadata (fst.metadata.metadata_for)."""
        return {"distill": {"teachers": list(self.config.distill.teachers)}, **self.fields}

    def sample_rows(self, previews: torch.Tensor) -> list[torch.Tensor]:
        """The student's versions of the preview photos, a row for each style."""
        count = len(self.teachers)
        return [self.model(previews, style) for style in (torch.eye(count, device=previews.device) if count > 1
                                                          else [None])]  # fmt: skip

    @torch.no_grad()
    def evaluate(self, holdout: list[Path], long_side: int = 512) -> float:
        """PSNR of the student against the teacher (each teacher, for its style) on the held-out photos, whole,
        long side `long_side`."""
        photos = []
        for path in holdout:
            try:
                photos.append(to_tensor(resize_long_side(load_rgb(path), long_side))[None].to(self.device))
            except (OSError, ValueError, Image.DecompressionBombError):
                continue
        if not photos:
            raise FstError(f"none of the {len(holdout)} held-out photos could be read")
        self.model.eval()
        count = len(self.teachers)
        styles = [F.one_hot(torch.tensor(i, device=self.device), count).float() if count > 1 else None
                  for i in range(count)]  # fmt: skip
        return psnr((self.model(p, styles[i]), teacher(p)) for i, teacher in enumerate(self.teachers) for p in photos)
