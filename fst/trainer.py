"""Training: Adam over photo batches under an objective (fst.objectives: one style, several, or the
arbitrary-style decoder; fst.distill: a distillation, which brings its own data), logged to TensorBoard,
checkpointed, resumable.

A run lives in `<runs_dir>/<name>/` (or output.run_dir): config.yaml (the resolved config), TensorBoard events,
samples/*.png (fixed photos stylized as training goes), checkpoints/ and last.pt. Exporting the result and printing
progress are the command line's (fst.cli.train); `Trainer.run` reports each step to a callback instead.

Resuming is exact: the checkpoint holds the network, Adam's state and the step, and the data order is a function
of the seed and the step (see fst.data), so N steps + resume + M steps equals N + M steps, bit for bit on a CPU.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from fst.checkpoint import checkpoint_to_resume, clear_run, save_checkpoint
from fst.config import Config, save_config
from fst.data import BadFileLog, PositionSampler, photo_loader, preview_photos
from fst.distill import DistillObjective
from fst.errors import ConfigError, FstError
from fst.files import check_writable, lock, unlock
from fst.hardware import choose_compile, choose_precision, distributed_rank, resolve_device
from fst.objectives import ReconstructionObjective, StyleObjective
from fst.photos import find_images, split_holdout
from fst.runstate import (
    Progress,
    TrainingInterrupted,
    TrainResult,
    log_scalars,
    not_finite,
    resume_from,
    run_kind,
    save_samples,
    training_state,
)
from fst.schedule import learning_rate

Objective = StyleObjective | ReconstructionObjective | DistillObjective


def objective_for(config: Config, device: torch.device, paths: list[Path]) -> Objective:
    """What the config trains: a distillation where it names teachers, else what model.architecture calls for."""
    if config.distill.teachers:
        return DistillObjective(config, device, paths)
    if config.model.architecture == "decoder":
        return ReconstructionObjective(config, device)
    return StyleObjective(config, device)


class Trainer:
    """Everything one training run needs; `run()` trains up to config.train.steps.

    Under torchrun every process builds a Trainer: each trains on its own share of the data (data.batch_size
    photos a step) with gradients averaged by DistributedDataParallel, and only rank 0 logs, writes samples and
    checkpoints.
    """

    def __init__(self, config: Config, resume: str | None = None, restart: bool = False) -> None:
        self.config = config
        cfg = config.train
        self.rank, self.world_size, local_rank = distributed_rank()
        self.is_main = self.rank == 0
        self.run_dir = Path(config.output.run_dir or Path(config.output.runs_dir) / config.name)
        self.kind = run_kind(config)
        for key, folder in (("runs_dir", self.run_dir), ("exports_dir", Path(config.output.exports_dir))):
            try:
                check_writable(folder, f"output.{key}")
            except FstError as e:
                raise ConfigError(str(e)) from None
        # Beside the run folder, not in it, so --restart does not delete it; held until run() ends.
        self.lock_path = self.run_dir.parent / f".{self.run_dir.name}.lock"
        if self.is_main:
            lock(self.lock_path, f"the run {self.run_dir}")
        self.device = resolve_device(cfg.device, local_rank)
        self.precision, self.precision_reason = choose_precision(cfg.precision, self.device)
        if self.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError(f"train.precision = 'fp16' needs a CUDA device (training on {self.device}); use bf16")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.paths, self.holdout_paths = split_holdout(find_images(config.data.root), config.data.holdout)
        self.previews = preview_photos(self.paths, config.data.image_size).to(self.device)
        self.objective = objective_for(config, self.device, self.paths)
        self.model = self.objective.model
        self.optimizer = torch.optim.Adam(self.objective.parameters(), lr=cfg.lr)
        # fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none.
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.step = 0
        self.samples_seen = 0  # the data sampler's position, over all processes
        if restart and self.is_main:  # after every other check, so that a bad config deletes nothing
            clear_run(self.run_dir, self.kind)
        self.skipped_checkpoints: list[str] = []  # damaged ones that --resume auto passed over, for the CLI to say
        self.resumed_from = None if restart else checkpoint_to_resume(self.run_dir, resume, self.skipped_checkpoints)
        if self.resumed_from is not None:
            self.step, self.samples_seen = resume_from(
                self.resumed_from, config, self.model, self.optimizer, self.scaler
            )
        self.compile, self.compile_reason = choose_compile(cfg.compile, self.device, cfg.steps - self.step)
        self.channels_last = self.precision != "fp32"  # measured: +7% with bf16 on CPU, nothing in fp32
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        self.network: torch.nn.Module = self.model  # wrapped for DistributedDataParallel once run() starts
        self.losses_of = torch.compile(self.forward) if self.compile else self.forward  # compiles on first call
        self.bad_files = BadFileLog()
        self.stop_signal: int | None = None
        # Reading the losses back makes the host wait for the GPU: one process on a GPU reads them only on log,
        # checkpoint, sample and stop steps; on a CPU reading is free, and ranks of a torchrun job agree every step.
        self.sync_every_step = self.device.type != "cuda" or self.world_size > 1

    def train_step(self, batch: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One optimizer step on a batch of photos (with what else the objective's own data source gives for them:
        the targets of a distillation); returns the mean (total, content, style, tv[, temporal]) loss over all
        processes and a stop flag (> 0 when any process got SIGINT or SIGTERM), on the device: reading it back is
        a wait for the GPU, which _steps does only where it must (see sync_every_step).

        One small all-reduce a step lets every rank see the same losses and stop request, so all of them stop, or
        refuse a non-finite loss, at the same step.
        """
        photos, *given = (
            t.to(self.device, non_blocking=True) for t in (batch if isinstance(batch, tuple) else (batch,))
        )
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.config.train)
        position = self.samples_seen + self.rank * photos.shape[0]
        losses = self.losses_of(photos, *given, *self.objective.inputs(self.step, self.rank, position, photos))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        self.objective.after_backward()
        shared = torch.stack([losses[k].detach().float() for k in self.objective.terms] + [self._stop_flag()])
        if self.world_size > 1:
            dist.all_reduce(shared)
            shared[: len(self.objective.terms)] /= self.world_size
        if self.sync_every_step and not torch.isfinite(shared[0]):  # a non-finite step is never taken
            raise not_finite(self.run_dir, self.config, self.step + 1, dict(zip(self.objective.terms, shared.tolist())))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return shared

    def forward(self, photos: torch.Tensor, *inputs: Any) -> dict[str, torch.Tensor]:
        """The objective's losses on a batch, in the chosen precision and memory layout; `inputs`, what the
        data source gave beside the photos, then what the objective drew for this step (Objective.inputs)."""
        if self.channels_last:
            photos = photos.contiguous(memory_format=torch.channels_last)
        autocast = torch.autocast(self.device.type, dtype=self.autocast_dtype) if self.autocast_dtype else None
        with autocast or contextlib.nullcontext():
            return self.objective.losses(self.network, photos, *inputs)

    def run(self, on_progress: Callable[[Progress], None] | None = None) -> TrainResult:
        """Train from self.step to config.train.steps; SIGINT or SIGTERM save a checkpoint and raise
        TrainingInterrupted."""
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
        checkpoint = self.resumed_from
        try:
            if self.step < cfg.steps:
                self.network = self._network()
                batches = iter(self.loader())
                try:
                    checkpoint = self._steps(batches, writer, on_progress or (lambda _: None))
                finally:  # workers ignore SIGTERM (fst.data.photo_loader): an exit's terminate() would wait forever
                    getattr(batches, "_shutdown_workers", lambda: None)()  # on them, so they are told to finish
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if writer is not None:
                writer.close()
            if self.world_size > 1:
                dist.destroy_process_group()
            unlock(self.lock_path)
        elapsed = time.perf_counter() - started
        rate = (self.step - start_step) * self.config.data.batch_size * self.world_size / max(elapsed, 1e-9)
        return TrainResult(self.run_dir, self.step, checkpoint, rate, len(self.bad_files.seen))

    def _steps(self, batches: Iterator, writer: Any, on_progress: Callable[[Progress], None]) -> Path | None:
        cfg = self.config.train
        global_batch = self.config.data.batch_size * self.world_size
        sums = torch.zeros(len(self.objective.terms), dtype=torch.float64)
        window_start, window_steps = time.perf_counter(), 0
        checkpoint, pending = self.resumed_from, []
        self.model.train()
        while self.step < cfg.steps:
            try:
                batch, bad = next(batches)
            except Exception as e:  # raised again from a worker: its traceback text, whose last line says what
                what = [line for line in str(e).splitlines() if line.strip()][-1:] or [type(e).__name__]
                raise FstError(f"loading the photos of step {self.step + 1} failed: {what[0].strip()}") from None
            skipped = self.bad_files.new(bad)
            pending.append(self.train_step(batch))
            self.step += 1
            self.samples_seen += global_batch
            window_steps += 1
            last = self.step == cfg.steps
            due = last or any(self.step % n == 0 for n in (cfg.log_every, cfg.checkpoint_every, cfg.sample_every))
            asked = False  # a stop asked for by any rank, known where the flags are read back
            if self.sync_every_step or due or self.stop_signal is not None:  # else the GPU runs on undisturbed
                shared = self._read_back(pending)
                sums += shared[:, : len(self.objective.terms)].double().sum(0)
                asked = bool(shared[:, -1].max() > 0)

            if self.is_main:
                progress = Progress(self.step, cfg.steps, None, None, None, skipped)
                if self.step % cfg.log_every == 0 or last:
                    rate = window_steps * global_batch / max(time.perf_counter() - window_start, 1e-9)
                    progress.losses = dict(zip(self.objective.terms, (sums / window_steps).tolist()))
                    progress.images_per_second = rate
                    progress.eta_seconds = (cfg.steps - self.step) * global_batch / max(rate, 1e-9)
                    log_scalars(writer, self.step, progress.losses, self.optimizer.param_groups[0]["lr"], rate)
                    sums.zero_()
                    window_start, window_steps = time.perf_counter(), 0
                if self.step % cfg.sample_every == 0 or last:
                    self._write_samples(writer)
                on_progress(progress)
            stop = asked or (last and self.stop_signal is not None)  # or after the flag was read
            if stop or self.step % cfg.checkpoint_every == 0 or last:
                checkpoint = self._save()
            if stop:
                name = signal.Signals(self.stop_signal).name if self.stop_signal else "a signal to another rank"
                again = "--resume auto" if self.kind == "training" else "the same command"
                message = f"stopped by {name} at step {self.step}; saved {checkpoint}; continue with {again}"
                raise TrainingInterrupted(message if self.is_main else "", self.stop_signal or signal.SIGTERM)
        return checkpoint

    def _network(self) -> torch.nn.Module:
        """The model in the chosen memory layout, wrapped for DistributedDataParallel under torchrun (which needs
        the process group, so this waits for run())."""
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
            if self.objective.loss_network is not None:
                self.objective.loss_network.to(memory_format=torch.channels_last)
        if self.world_size == 1:
            return self.model
        return DistributedDataParallel(
            self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
        )

    def loader(self) -> DataLoader | Iterator:
        """Batches of (photos, unreadable file names) from the sampler's current position; from the objective's own
        data source where it has one (a distillation's crops and targets)."""
        if isinstance(self.objective, DistillObjective):
            return self.objective.loader(self.samples_seen, self.rank, self.world_size)
        seed = self.config.train.seed
        sampler = PositionSampler(len(self.paths), seed, self.samples_seen, self.rank, self.world_size)
        return photo_loader(self.paths, self.config.data, sampler, pin_memory=self.device.type == "cuda")

    def _save(self) -> Path:
        """Rank 0 writes the checkpoint; every rank returns its path."""
        if not self.is_main:
            return self.run_dir / "checkpoints" / f"step_{self.step:07d}.pt"
        state = training_state(self.config, self.step, self.samples_seen, self.model, self.optimizer, self.scaler,
                               self.objective.checkpoint_fields())  # fmt: skip
        return save_checkpoint(state, self.run_dir, self.config.train.keep_last)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stop_signal = signum

    def _stop_flag(self) -> torch.Tensor:
        return torch.tensor(float(self.stop_signal is not None), device=self.device)

    def _read_back(self, pending: list[torch.Tensor]) -> torch.Tensor:
        """The losses and stop flags of the steps since the last read, (steps, terms + 1) on the CPU; emptied.
        A non-finite loss among them stops the run, naming its step: no checkpoint or sample is written before
        this check."""
        shared, first = torch.stack(pending).cpu(), self.step - len(pending) + 1
        pending.clear()
        bad = (~torch.isfinite(shared[:, 0])).nonzero().flatten().tolist()
        if bad:
            raise not_finite(
                self.run_dir, self.config, first + bad[0], dict(zip(self.objective.terms, shared[bad[0]].tolist()))
            )
        return shared

    def _write_samples(self, writer: Any) -> None:
        """The preview photos on the top row, the network's versions below (Objective.sample_rows)."""
        self.model.eval()
        with torch.no_grad():
            rows = [self.previews, *self.objective.sample_rows(self.previews)]
        self.model.train()
        save_samples(writer, self.run_dir, self.step, rows)
