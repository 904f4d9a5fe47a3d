"""The learning rate at each step: linear warm-up, then cosine decay to a tenth (or constant).

Warm-up keeps Adam's first, badly estimated steps small, which matters more the higher the rate: a fresh network
with instance norm otherwise lurches into saturated sigmoid outputs (flat white or black regions) that take many
steps to leave. Cosine decay then spends the last steps refining at a low rate. The rate is a pure function of the
step, so a resumed run follows the same curve without any scheduler state in the checkpoint.
"""

from __future__ import annotations

import math

from fst.config import TrainConfig

FINAL_FRACTION = 0.1


def learning_rate(step: int, train: TrainConfig) -> float:
    """The rate for optimizer step `step` (0 for the first step of a run)."""
    if step < train.warmup_steps:
        return train.lr * (step + 1) / train.warmup_steps
    if train.lr_schedule == "constant":
        return train.lr
    progress = min(1.0, (step - train.warmup_steps) / max(1, train.steps - train.warmup_steps))
    return train.lr * (FINAL_FRACTION + (1 - FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress)))
