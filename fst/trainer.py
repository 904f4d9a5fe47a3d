"""Training loop for one style: Adam over photo batches, logged to TensorBoard, checkpointed, resumable.

A run lives in `<runs_dir>/<name>/`: config.yaml (the resolved config), TensorBoard events, samples/*.png (fixed
photos stylized as training goes), checkpoints/ and last.pt. It ends with `<exports_dir>/<name>.onnx`.

Resuming is exact: the checkpoint holds the network, Adam's state and the step, and the data order is a function
of the seed and the step (see fst.data), so N steps + resume + M steps equals N + M steps, bit for bit on a CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from fst import __version__
from fst.checkpoint import list_checkpoints, load_checkpoint, network_for, network_weights, save_checkpoint
from fst.config import Config, init_path, save_config
from fst.data import (
    BadFileLog,
    PhotoDataset,
    PositionSampler,
    center_crop,
    collate,
    find_images,
    load_rgb,
    resize_long_side,
    split_holdout,
    spread_photos,
    to_image,
    to_tensor,
)
from fst.errors import ConfigError, FstError, command_name, run_cli
from fst.export import export_onnx, metadata_for
from fst.files import check_writable
from fst.hardware import choose_compile, choose_precision, resolve_device
from fst.losses import perceptual_loss
from fst.schedule import learning_rate
from fst.transformer import TransformerNet

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


def distributed_rank() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) for a plain `python train.py`."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world_size, int(os.environ.get("LOCAL_RANK", "0"))


def load_style_image(path: str, size: int) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1], long side resized to `size`: the scale of the brush strokes the network learns."""
    try:
        image = load_rgb(path)
    except OSError as e:
        raise ConfigError(f"style_image: cannot read {path} ({e})") from None
    return to_tensor(resize_long_side(image, size)).unsqueeze(0)


def sample_photos(paths: list[Path], size: int) -> torch.Tensor:
    """A few photos spread over the data set, center-cropped: the same ones at every sample step."""
    photos = spread_photos(paths, SAMPLE_PHOTOS)
    if not photos:
        try:
            load_rgb(paths[0])
        except (OSError, ValueError) as e:
            raise ConfigError(
                f"data.root: none of the {len(paths)} image files under {paths[0].parent} can be read "
                f"(for example {paths[0].name}: {e})"
            ) from None
    return torch.stack([to_tensor(center_crop(p, size)) for p in photos])


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
    """Holds everything one training run needs; `run()` trains up to config.train.steps and exports.

    Under torchrun every process builds a Trainer: each trains on its own share of the data (data.batch_size
    photos a step) with gradients averaged by DistributedDataParallel, and only rank 0 logs, writes samples,
    checkpoints and the export.
    """

    def __init__(self, config: Config, resume: str | None = None, restart: bool = False, progress: bool = True):
        self.config = config
        cfg = config.train
        self.rank, self.world_size, local_rank = distributed_rank()
        self.is_main = self.rank == 0
        self.progress = progress and self.is_main
        self.run_dir = Path(config.output.runs_dir) / config.name
        for key, folder in (("runs_dir", self.run_dir), ("exports_dir", Path(config.output.exports_dir))):
            try:
                check_writable(folder, f"output.{key}")
            except FstError as e:
                raise ConfigError(str(e)) from None
        self.device = resolve_device(cfg.device, local_rank)
        self.precision, self.precision_reason = choose_precision(cfg.precision, self.device)
        if self.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError(f"train.precision = 'fp16' needs a CUDA device (training on {self.device}); use bf16")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.paths, _ = split_holdout(find_images(config.data.root), config.data.holdout)
        self.samples = sample_photos(self.paths, config.data.image_size).to(self.device)
        style = load_style_image(config.style_image, config.loss.style_size)
        self.loss_fn = perceptual_loss(config.loss, style, self.device)

        torch.manual_seed(cfg.seed)
        self.model = TransformerNet(config.model.width, config.model.res_blocks).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        # fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none.
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.step = 0
        self.samples_seen = 0  # the data sampler's position, over all processes
        self.resumed_from: Path | None = None
        self.init_from = init_path(config)
        if self.init_from is not None:
            self._initialize(self.init_from)
        resume_path = self._pick_checkpoint(resume, restart)  # after every other check: --restart deletes
        if resume_path is not None:
            self._restore(resume_path)
        self.compile, self.compile_reason = choose_compile(cfg.compile, self.device, cfg.steps - self.step)
        self.bad_files = BadFileLog()
        self.stop_signal: int | None = None
        self._losses_of = None  # built on the first step: DistributedDataParallel needs the process group

    def _initialize(self, path: Path) -> None:
        """Fine-tuning: start from another network's weights, not its optimizer state or step."""
        source = network_for(network_weights(path), path)
        if (source.width, source.res_blocks) != (self.model.width, self.model.res_blocks):
            raise ConfigError(
                f"train.init: {path} is a network of width {source.width} with {source.res_blocks} residual blocks; "
                f"the config asks for model.width {self.model.width} and model.res_blocks {self.model.res_blocks}"
            )
        self.model.load_state_dict(source.state_dict())

    def _pick_checkpoint(self, resume: str | None, restart: bool) -> Path | None:
        existing = list_checkpoints(self.run_dir)
        if restart:
            if self.is_main:
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
        if "scaler" in state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
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
            "scaler": self.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all()},
        }

    def _save(self) -> Path:
        """Rank 0 writes the checkpoint; every rank returns its path."""
        if self.is_main:
            return save_checkpoint(self._checkpoint_state(), self.run_dir, self.config.train.keep_last)
        return self.run_dir / "checkpoints" / f"step_{self.step:07d}.pt"

    def _loader(self) -> DataLoader:
        cfg = self.config.data
        sampler = PositionSampler(
            len(self.paths), self.config.train.seed, self.samples_seen, self.rank, self.world_size
        )
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
        cfg = self.config.train
        writer = None
        if self.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.run_dir / "config.yaml")
            writer = SummaryWriter(str(self.run_dir), purge_step=self.step + 1 if self.step else None)
        if self.world_size > 1:
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        start_step, started = self.step, time.perf_counter()
        last_checkpoint = self.resumed_from
        try:
            if self.step < cfg.steps:
                last_checkpoint = self._train_loop(writer)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if writer is not None:
                writer.close()
            if self.world_size > 1:
                dist.destroy_process_group()
        elapsed = time.perf_counter() - started
        rate = (self.step - start_step) * self.config.data.batch_size * self.world_size / max(elapsed, 1e-9)
        onnx_path = Path(self.config.output.exports_dir) / f"{self.config.name}.onnx"
        if self.is_main:
            export_onnx(self.model, onnx_path, metadata_for(self.config.to_dict(), self.step))
        return TrainResult(self.run_dir, self.step, last_checkpoint, onnx_path, rate, len(self.bad_files.seen))

    def train_step(self, photos: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a batch; returns the mean (total, content, style, tv) loss over all processes and
        a stop flag (> 0 when any process got SIGINT or SIGTERM), as a CPU tensor.

        One small all-reduce a step lets every rank see the same losses and stop request, so all of them stop, or
        refuse a non-finite loss, at the same step.
        """
        if self._losses_of is None:
            self._losses_of = self._step_function()
        losses = self._losses_of(photos.to(self.device, non_blocking=True))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.config.train)
        names = ("total", "content", "style", "tv")
        shared = torch.stack([losses[k].detach().float() for k in names] + [self._stop_flag()])
        if self.world_size > 1:
            dist.all_reduce(shared)
            shared[: len(names)] /= self.world_size
        shared = shared.cpu()
        if not torch.isfinite(shared[0]):
            self._raise_not_finite(dict(zip(names, shared.tolist())))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return shared

    def _step_function(self):
        """photos -> loss terms, with the network wrapped for the chosen precision, layout and parallelism."""
        model: torch.nn.Module = self.model
        channels_last = self.precision != "fp32"  # measured: +7% with bf16 on CPU, nothing in fp32
        if channels_last:
            model.to(memory_format=torch.channels_last)
            self.loss_fn.vgg.to(memory_format=torch.channels_last)
        if self.world_size > 1:
            model = DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

        def losses_of(photos: torch.Tensor) -> dict[str, torch.Tensor]:
            if channels_last:
                photos = photos.contiguous(memory_format=torch.channels_last)
            autocast = torch.autocast(self.device.type, dtype=dtype) if dtype else contextlib.nullcontext()
            with autocast:
                return self.loss_fn(model(photos), photos)

        return torch.compile(losses_of) if self.compile else losses_of

    def _train_loop(self, writer: Any) -> Path:
        cfg = self.config.train
        global_batch = self.config.data.batch_size * self.world_size
        bar = tqdm(total=cfg.steps, initial=self.step, unit="step", dynamic_ncols=True, disable=not self.progress)
        names = ("total", "content", "style", "tv")
        sums = torch.zeros(len(names), dtype=torch.float64)
        window_start, window_steps = time.perf_counter(), 0
        last_checkpoint = self.resumed_from
        batches = iter(self._loader())
        self.model.train()
        try:
            while self.step < cfg.steps:
                photos, bad = next(batches)
                for report in self.bad_files.new(bad):
                    tqdm.write(f"warning: skipped unreadable image {report}")
                shared = self.train_step(photos)
                self.step += 1
                self.samples_seen += global_batch
                window_steps += 1
                bar.update(1)
                sums += shared[: len(names)].double()

                if self.is_main and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                    rate = window_steps * global_batch / max(time.perf_counter() - window_start, 1e-9)
                    self._log(writer, bar, dict(zip(names, (sums / window_steps).tolist())), rate)
                    sums.zero_()
                    window_start, window_steps = time.perf_counter(), 0
                if self.is_main and (self.step % cfg.sample_every == 0 or self.step == cfg.steps):
                    self._write_samples(writer)
                stop = bool(shared[-1] > 0)
                if stop or self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    last_checkpoint = self._save()
                if stop:
                    name = signal.Signals(self.stop_signal).name if self.stop_signal else "a signal to another rank"
                    message = (
                        f"stopped by {name} at step {self.step}; saved {last_checkpoint}; continue with --resume auto"
                    )
                    raise TrainingInterrupted(message if self.is_main else "", self.stop_signal or signal.SIGTERM)
        finally:
            bar.close()
        return last_checkpoint

    def _stop_flag(self) -> torch.Tensor:
        return torch.tensor(float(self.stop_signal is not None), device=self.device)

    def _log(self, writer: Any, bar: tqdm, means: dict[str, float], rate: float) -> None:
        cfg = self.config.train
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
            eta = (cfg.steps - self.step) * self.config.data.batch_size * self.world_size / max(rate, 1e-9)
            print(f"step {self.step}/{cfg.steps} {summary}, eta {eta / 60:.1f} min", flush=True)

    def _raise_not_finite(self, losses: dict[str, float]) -> None:
        terms = ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
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
        prog=command_name("train.py"),
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
    if trainer.resumed_from:
        where = f"resuming from {trainer.resumed_from} at step {trainer.step}"
    else:
        where = f"starting from the weights of {trainer.init_from}" if trainer.init_from else "from scratch"
    processes = f" x {trainer.world_size} processes" if trainer.world_size > 1 else ""
    if trainer.is_main:
        print(
            f"training {config.name!r} on {photos} photos under {config.data.root}"
            + (f" ({config.data.holdout} held out)" if config.data.holdout else "")
            + f", {trainer.device}{processes}, {where}\n"
            f"precision {trainer.precision} ({trainer.precision_reason}); "
            f"torch.compile {'on' if trainer.compile else 'off'} ({trainer.compile_reason})"
        )
    result = trainer.run()
    if not trainer.is_main:
        return 0
    print(
        f"done: step {result.step}, {result.images_per_second:.1f} images/s; checkpoint {result.checkpoint}; "
        f"ONNX {result.onnx_path}; samples in {result.run_dir / 'samples'}"
        + (f"; skipped {result.skipped_files} unreadable images" if result.skipped_files else "")
    )
    return 0


def cli() -> None:
    """Console-script entry point (`fst-train`), also what train.py calls."""
    sys.exit(run_cli(main))
