"""Training loop for one style: Adam over photo batches, logged to TensorBoard, checkpointed, resumable.

A run lives in `<runs_dir>/<name>/`: config.yaml (the resolved config), TensorBoard events, samples/*.png (fixed
photos stylized as training goes), checkpoints/ and last.pt. It ends with `<exports_dir>/<name>.onnx`.

Resuming is exact: the checkpoint holds the network, Adam's state and the step, and the data order is a function
of the seed and the step (see fst.data), so N steps + resume + M steps equals N + M steps, bit for bit on a CPU.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from fst import __version__
from fst.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from fst.config import Config, save_config
from fst.data import (
    BadFileLog,
    PhotoDataset,
    PositionSampler,
    center_crop,
    collate,
    find_images,
    load_rgb,
    to_image,
    to_tensor,
)
from fst.errors import ConfigError, FstError, run_cli
from fst.export import export_onnx, metadata_for
from fst.losses import PerceptualLoss
from fst.transformer import TransformerNet
from fst.vgg import RELU_INDEX, load_vgg16

SAMPLE_PHOTOS = 4


class TrainingInterrupted(FstError):
    """SIGINT or SIGTERM arrived; a checkpoint was saved. Exit code 128 + signal number, as shells expect."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum
        self.label = ""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path
    onnx_path: Path
    images_per_second: float
    skipped_files: int


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device = {name!r}, but PyTorch sees no CUDA device here; use auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device = {name!r}, but MPS is not available here; use auto or cpu")
    return device


def load_style_image(path: str, size: int) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1], long side resized to `size`: the scale of the brush strokes the network learns."""
    try:
        image = load_rgb(path)
    except OSError as e:
        raise ConfigError(f"style_image: cannot read {path} ({e})") from None
    scale = size / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), reducing_gap=3.0)
    return to_tensor(image).unsqueeze(0)


def sample_photos(paths: list[Path], size: int) -> torch.Tensor:
    """A few readable photos spread over the data set, center-cropped: the same ones at every sample step."""
    picked = []
    for i in range(len(paths)):
        path = paths[(i * max(1, len(paths) // SAMPLE_PHOTOS)) % len(paths)]
        try:
            picked.append(to_tensor(center_crop(load_rgb(path), size)))
        except OSError:
            continue
        if len(picked) == SAMPLE_PHOTOS:
            break
    return torch.stack(picked)


def sample_grid(photos: torch.Tensor, stylized: torch.Tensor, gap: int = 4) -> torch.Tensor:
    """(3, H', W') image: the photos on the top row, their stylized versions below, on a white background."""
    n, _, h, w = photos.shape
    grid = torch.ones(3, 2 * h + 3 * gap, n * w + (n + 1) * gap)
    for i in range(n):
        left = gap + i * (w + gap)
        grid[:, gap : gap + h, left : left + w] = photos[i]
        grid[:, 2 * gap + h : 2 * gap + 2 * h, left : left + w] = stylized[i]
    return grid


def _ignore_sigint(_: int) -> None:
    # Ctrl-C reaches every process in the group; only the main process decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Trainer:
    """Holds everything one training run needs; `run()` trains up to config.train.steps and exports."""

    def __init__(self, config: Config, resume: str | None = None, restart: bool = False, progress: bool = True):
        self.config = config
        self.progress = progress
        self.run_dir = Path(config.output.runs_dir) / config.name
        self.device = resolve_device(config.train.device)
        self.paths = find_images(config.data.root)
        style = load_style_image(config.style_image, config.loss.style_size)
        deepest = max([config.loss.content_layer, *config.loss.style_layers], key=RELU_INDEX.__getitem__)
        vgg = load_vgg16(config.loss.vgg_weights, deepest).to(self.device)
        self.loss_fn = PerceptualLoss(vgg, config.loss, style.to(self.device))

        torch.manual_seed(config.train.seed)
        self.model = TransformerNet(config.model.width, config.model.res_blocks).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.train.lr)
        self.step = 0
        self.samples_seen = 0  # the data sampler's position; differs from step * batch_size if that changed
        self.resumed_from: Path | None = None
        resume_path = self._pick_checkpoint(resume, restart)  # after every other check: --restart deletes
        if resume_path is not None:
            self._restore(resume_path)
        self.samples = sample_photos(self.paths, config.data.image_size).to(self.device)
        self.bad_files = BadFileLog()
        self.stop_signal: int | None = None

    def _pick_checkpoint(self, resume: str | None, restart: bool) -> Path | None:
        existing = list_checkpoints(self.run_dir)
        if restart:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return None
        if resume == "auto":
            return existing[-1] if existing else None
        if resume is not None:
            return Path(resume)
        if existing:
            raise ConfigError(
                f"{self.run_dir} already holds a run (last checkpoint {existing[-1].name}): continue it with "
                f"--resume auto, or delete it and start over with --restart"
            )
        return None

    def _restore(self, path: Path) -> None:
        state = load_checkpoint(path)
        if any(key not in state for key in ("optimizer", "samples_seen", "rng")):
            raise FstError(f"cannot resume from {path}: it holds a network but no training state")
        saved_model = state["config"]["model"]
        current = dataclasses.asdict(self.config.model)
        if saved_model != current:
            diffs = ", ".join(
                f"model.{k}: {saved_model.get(k)} -> {v}" for k, v in current.items() if saved_model.get(k) != v
            )
            raise ConfigError(f"cannot resume from {path}: the config changes the network ({diffs})")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.train.lr
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step = state["step"]
        self.samples_seen = state["samples_seen"]
        self.resumed_from = path

    def _checkpoint_state(self) -> dict[str, Any]:
        return {
            "fst_version": __version__,
            "step": self.step,
            "samples_seen": self.samples_seen,
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all()},
        }

    def _save(self) -> Path:
        return save_checkpoint(self._checkpoint_state(), self.run_dir, self.config.train.keep_last)

    def _loader(self) -> DataLoader:
        cfg = self.config.data
        sampler = PositionSampler(len(self.paths), self.config.train.seed, start=self.samples_seen)
        return DataLoader(
            PhotoDataset(self.paths, cfg.image_size),
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.workers,
            collate_fn=collate,
            pin_memory=self.device.type == "cuda",
            worker_init_fn=_ignore_sigint if cfg.workers else None,
            persistent_workers=cfg.workers > 0,
            prefetch_factor=4 if cfg.workers else None,
        )

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stop_signal = signum

    def run(self) -> TrainResult:
        from torch.utils.tensorboard import SummaryWriter

        cfg = self.config.train
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.config, self.run_dir / "config.yaml")
        writer = SummaryWriter(str(self.run_dir), purge_step=self.step + 1 if self.step else None)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        start_step, started = self.step, time.perf_counter()
        last_checkpoint = self.resumed_from
        try:
            if self.step < cfg.steps:
                last_checkpoint = self._train_loop(writer)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            writer.close()
        elapsed = time.perf_counter() - started
        rate = (self.step - start_step) * self.config.data.batch_size / max(elapsed, 1e-9)
        onnx_path = Path(self.config.output.exports_dir) / f"{self.config.name}.onnx"
        export_onnx(self.model, onnx_path, metadata_for(self.config.to_dict(), self.step))
        return TrainResult(self.run_dir, self.step, last_checkpoint, onnx_path, rate, len(self.bad_files.seen))

    def _train_loop(self, writer: Any) -> Path:
        cfg = self.config.train
        batch_size = self.config.data.batch_size
        bar = tqdm(total=cfg.steps, initial=self.step, unit="step", dynamic_ncols=True, disable=not self.progress)
        sums = {k: torch.zeros((), device=self.device) for k in ("total", "content", "style", "tv")}
        window_start, window_steps = time.perf_counter(), 0
        last_checkpoint = self.resumed_from
        batches = iter(self._loader())
        self.model.train()
        try:
            while self.step < cfg.steps:
                if self.stop_signal is not None:
                    path = self._save()
                    name = signal.Signals(self.stop_signal).name
                    raise TrainingInterrupted(
                        f"stopped by {name} at step {self.step}; saved {path}; continue with --resume auto",
                        self.stop_signal,
                    )
                photos, bad = next(batches)
                for report in self.bad_files.new(bad):
                    tqdm.write(f"warning: skipped unreadable image {report}")
                photos = photos.to(self.device, non_blocking=True)
                losses = self.loss_fn(self.model(photos), photos)
                if not torch.isfinite(losses["total"]):
                    self._raise_not_finite(losses)
                self.optimizer.zero_grad(set_to_none=True)
                losses["total"].backward()
                self.optimizer.step()
                self.step += 1
                self.samples_seen += len(photos)
                window_steps += 1
                bar.update(1)
                for k in sums:
                    sums[k] += losses[k].detach()

                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    seconds = time.perf_counter() - window_start
                    rate = window_steps * batch_size / max(seconds, 1e-9)
                    means = {k: v.item() / window_steps for k, v in sums.items()}
                    for k, v in means.items():
                        writer.add_scalar(f"loss/{k}", v, self.step)
                    writer.add_scalar("lr", self.optimizer.param_groups[0]["lr"], self.step)
                    writer.add_scalar("images_per_second", rate, self.step)
                    summary = (
                        f"loss {means['total']:.4g} (content {means['content']:.3g}, style {means['style']:.3g}, "
                        f"tv {means['tv']:.3g}), {rate:.1f} img/s"
                    )
                    bar.set_postfix_str(summary)
                    if not self.progress:
                        eta = (cfg.steps - self.step) * batch_size / max(rate, 1e-9)
                        print(f"step {self.step}/{cfg.steps} {summary}, eta {eta / 60:.1f} min", flush=True)
                    sums = {k: torch.zeros_like(v) for k, v in sums.items()}
                    window_start, window_steps = time.perf_counter(), 0
                if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                    self._write_samples(writer)
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    last_checkpoint = self._save()
        finally:
            bar.close()
        return last_checkpoint

    def _raise_not_finite(self, losses: dict[str, torch.Tensor]) -> None:
        terms = ", ".join(f"{k} {v.item():.4g}" for k, v in losses.items())
        existing = list_checkpoints(self.run_dir)
        kept = f"the last good checkpoint is {existing[-1]}" if existing else "no checkpoint had been written yet"
        raise FstError(
            f"the loss is not finite at step {self.step + 1} ({terms}); {kept}; "
            f"try a lower train.lr (now {self.config.train.lr:g}) or smaller loss weights"
        )

    def _write_samples(self, writer: Any) -> None:
        self.model.eval()
        with torch.no_grad():
            stylized = self.model(self.samples)
        self.model.train()
        grid = sample_grid(self.samples.cpu(), stylized.float().cpu())
        writer.add_image("samples", grid, self.step)
        folder = self.run_dir / "samples"
        folder.mkdir(exist_ok=True)
        to_image(grid).save(folder / f"step_{self.step:07d}.png")


def main(argv: list[str] | None = None) -> int:
    """`python train.py --config X.yaml [--set key=value ...] [--resume auto|PATH] [--restart]`."""
    import argparse

    from fst.config import load_config

    parser = argparse.ArgumentParser(
        prog="train.py",
        description="Train a fast style transfer network from a YAML config and export it to ONNX.",
    )
    parser.add_argument("--config", required=True, help="YAML config file, e.g. configs/demo.yaml")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set data.root=/data/coco/train2014 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--resume", metavar="auto|PATH", help="continue from the run's latest checkpoint or a file")
    parser.add_argument("--restart", action="store_true", help="delete <runs_dir>/<name> and train from scratch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log files, CI)")
    args = parser.parse_args(argv)
    if args.resume and args.restart:
        raise ConfigError("--resume and --restart contradict each other: pick one")

    config = load_config(args.config, args.overrides)
    trainer = Trainer(config, resume=args.resume, restart=args.restart, progress=not args.no_progress)
    photos = len(trainer.paths)
    where = f"resuming from {trainer.resumed_from} at step {trainer.step}" if trainer.resumed_from else "from scratch"
    print(f"training {config.name!r} on {photos} photos under {config.data.root}, {trainer.device}, {where}")
    result = trainer.run()
    print(
        f"done: step {result.step}, {result.images_per_second:.1f} images/s; checkpoint {result.checkpoint}; "
        f"ONNX {result.onnx_path}; samples in {result.run_dir / 'samples'}"
        + (f"; skipped {result.skipped_files} unreadable images" if result.skipped_files else "")
    )
    return 0


def cli() -> None:
    """Console-script entry point (`fst-train`), also what train.py calls."""
    sys.exit(run_cli(main))
