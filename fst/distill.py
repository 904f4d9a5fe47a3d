"""Distillation: a narrower network trained to give the output of a trained one, for CPUs that need speed.

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

The result is an ordinary checkpoint (the teacher's config with the student's width), which fst.export, infer.py
and train.init take as they take any other. Like the trainer's, the data order is a pure function of the seed and
the step, so a resumed run ends bit-identical to one that never stopped.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from fst.checkpoint import clear_run, load_checkpoint, load_network, save_checkpoint, weights_digest
from fst.config import DistillConfig, TrainConfig
from fst.data import PositionSampler, center_crop, load_croppable, to_tensor
from fst.errors import FstError, Terminated
from fst.files import lock, unlock
from fst.hardware import resolve_device
from fst.images import load_rgb, resize_long_side
from fst.onnxfile import onnx_metadata
from fst.photos import find_images, split_holdout
from fst.quantize import psnr
from fst.schedule import learning_rate
from fst.transformer import TransformerNet


@dataclass
class DistillProgress:
    step: int
    steps: int
    loss: float
    images_per_second: float
    eta_seconds: float


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
        from fst.backends import onnx_session

        self.session = onnx_session(path)
        self.digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()  # what a student was made from

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        from fst.backends import run_onnx

        return torch.from_numpy(run_onnx(self.session, image.detach().float().cpu().numpy())[0]).to(image.device)


def load_teacher(path: str | Path) -> TransformerNet | OnnxTeacher:
    """A trained network (checkpoint or fp32 export), or a painting's model (fst.arbitrary) as an OnnxTeacher."""
    if Path(path).suffix.lower() == ".onnx" and onnx_metadata(path).get("kind") == "painting":
        return OnnxTeacher(path)
    return load_network(path)


class Distiller:
    """Trains a TransformerNet of `config.width` to reproduce the teacher's output; resumes from run_dir/last.pt."""

    def __init__(self, config: DistillConfig, restart: bool = False) -> None:
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.device = resolve_device(config.device, key="--device")
        sources = [config.teacher] if isinstance(config.teacher, str) else list(config.teacher)
        self.teachers = [load_teacher(path).to(self.device) for path in sources]
        for path, teacher in zip(sources, self.teachers):
            if teacher.styles > 1:  # it would teach its first style alone, under the name of all of them
                raise FstError(f"--teacher {path} holds {teacher.styles} styles: give each style's own network as a "
                               "--teacher of its own (several teachers make a network of several styles)")  # fmt: skip
        self.teacher = self.teachers[0]
        configs = [teacher_config(path) for path in sources]
        names = [c["name"] for c in configs]
        if len(set(names)) < len(names):
            raise FstError(f"two teachers have the same style name ({', '.join(names)}): one teacher a style")
        student = {"width": config.width, "res_blocks": config.res_blocks, "architecture": config.architecture}
        if len(sources) == 1:
            made_from = getattr(self.teacher, "digest", None) or weights_digest(self.teacher)
            self.teacher_config = {**configs[0], "made_from": made_from}
            # the student's own training config, as its checkpoints and export carry it
            self.student_config = {**self.teacher_config, "model": student, "distilled_from": str(sources[0])}
        else:
            self.teacher_config = {**configs[0], "name": "-".join(names)}
            self.student_config = {
                **self.teacher_config, "model": student, "styles": names,
                "style_images": [c["style_image"] for c in configs], "distilled_from": [str(p) for p in sources],
            }  # fmt: skip
        paths, self.holdout_paths = split_holdout(find_images(config.photos), config.holdout)
        self.paths = paths[:: max(1, -(-len(paths) // config.max_photos))]
        torch.manual_seed(config.seed)
        self.student = TransformerNet(config.width, config.res_blocks, config.architecture, len(sources))
        same_shape = (self.teacher.architecture, self.teacher.width, self.teacher.res_blocks) == (
            config.architecture, config.width, config.res_blocks)  # fmt: skip
        if len(sources) > 1 and same_shape:
            rows = self.teacher.norm_rows().repeat(len(sources), 1)
            self.student.load_state_dict(self.teacher.with_styles(rows).state_dict())
        self.student.to(self.device)
        self.optimizer = torch.optim.Adam(self.student.parameters(), lr=config.lr)
        self.schedule = TrainConfig(steps=config.steps, lr=config.lr, warmup_steps=config.warmup_steps)
        self.step = 0
        self.lock_path = self.run_dir.parent / f".{self.run_dir.name}.lock"  # held until run() ends
        lock(self.lock_path, f"the run {self.run_dir}")
        if restart:
            clear_run(self.run_dir, "distillation")
        self.resumed = (self.run_dir / "last.pt").is_file()
        if self.resumed:
            self._restore(self.run_dir / "last.pt")
        self.photos = self.targets = None
        self.skipped: list[str] = []

    def prepare(self, on_photo: Callable[[int, int], None] = lambda done, total: None) -> None:
        """Crop the photos and run each teacher on each once (on_photo(done, total) after each photo)."""
        photos, self.skipped = load_crops(self.paths, self.config.image_size)
        self.photos = photos.to(self.device)
        targets = []  # (teachers, photos, 3, size, size) in fp16: 0.4 MB a photo and teacher at 256 px
        with torch.no_grad():
            for i, photo in enumerate(self.photos):
                targets.append(torch.stack([t(photo[None].float() / 255)[0].half() for t in self.teachers]))
                on_photo(i + 1, len(self.photos))
        self.targets = torch.stack(targets, 1)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices of the photos of `step`, in the trainer's data order (fst.data.PositionSampler): each epoch a
        permutation drawn from the seed and the epoch number; and the style each is distilled for, in turn."""
        start = step * self.config.batch_size
        positions = iter(PositionSampler(len(self.photos), self.config.seed, start=start))
        indices = torch.tensor([next(positions)[0] for _ in range(self.config.batch_size)])
        return indices, torch.arange(start, start + self.config.batch_size) % len(self.teachers)

    def train_step(self) -> float:
        """One optimizer step on the batch of the current step; returns its loss."""
        indices, styles = self.batch(self.step)
        photos, targets = self.photos[indices].float() / 255, self.targets[styles, indices].float()
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.schedule)
        weights = F.one_hot(styles, len(self.teachers)).float().to(self.device) if len(self.teachers) > 1 else None
        loss = F.mse_loss(self.student(photos, weights), targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    def run(self, on_progress: Callable[[DistillProgress], None] = lambda progress: None) -> Path | None:
        """Train to config.steps, saving every save_every steps, at the end, and on Ctrl-C or SIGTERM (then the
        interruption goes on up); returns the last checkpoint."""
        if self.photos is None:
            self.prepare()
        self.student.train()
        started, start_step, saved = time.perf_counter(), self.step, None
        try:
            while self.step < self.config.steps:
                loss = self.train_step()
                rate = (self.step - start_step) * self.config.batch_size / (time.perf_counter() - started)
                eta = (self.config.steps - self.step) * self.config.batch_size / rate
                on_progress(DistillProgress(self.step, self.config.steps, loss, rate, eta))
                if self.step % self.config.save_every == 0 or self.step == self.config.steps:
                    saved = self.save()
        except (KeyboardInterrupt, Terminated):
            if self.step > start_step and (saved is None or f"{self.step:07d}" not in saved.name):
                self.save()  # the steps since the last save are kept; the same command continues from here
            raise
        self.student.eval()
        unlock(self.lock_path)
        return saved

    def save(self) -> Path:
        state = {
            "step": self.step,
            "config": self.student_config,
            "model": self.student.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "distill": asdict(self.config),
        }
        return save_checkpoint(state, self.run_dir, keep_last=2)

    def _restore(self, path: Path) -> None:
        state = load_checkpoint(path)
        saved = state.get("distill")
        if saved is None:
            raise FstError(f"{path} is a training checkpoint, not a distillation: pick another run folder")
        taught = len(saved["teacher"]) if isinstance(saved.get("teacher"), list) else 1
        if taught != len(self.teachers):
            raise FstError(f"{path} was distilled from {taught} teacher(s), not {len(self.teachers)}: give the same "
                           "teachers, or --restart")  # fmt: skip
        for key in ("width", "res_blocks", "architecture", "image_size", "batch_size", "seed"):
            if saved.get(key, "johnson") != getattr(self.config, key):
                raise FstError(
                    f"{path} was distilled with {key} = {saved[key]}, not {getattr(self.config, key)}: "
                    f"use the same settings, or --restart"
                )
        self.student.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = state["step"]

    @torch.no_grad()
    def evaluate(self, long_side: int = 512) -> float:
        """PSNR of the student against the teacher (each teacher, for its style) on the held-out photos, whole,
        long side `long_side`."""
        photos = []
        for path in self.holdout_paths:
            try:
                photos.append(to_tensor(resize_long_side(load_rgb(path), long_side))[None])
            except (OSError, ValueError, Image.DecompressionBombError):
                continue
        if not photos:
            raise FstError(f"none of the {len(self.holdout_paths)} held-out photos could be read")
        self.student.eval()
        count = len(self.teachers)
        styles = [F.one_hot(torch.tensor(i, device=self.device), count).float() if count > 1 else None
                  for i in range(count)]  # fmt: skip
        photos = [p.to(self.device) for p in photos]
        return psnr((self.student(p, styles[i]), teacher(p)) for i, teacher in enumerate(self.teachers) for p in photos)
