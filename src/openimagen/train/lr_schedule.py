"""Learning-rate schedule: linear warmup, then constant or cosine decay (Loshchilov & Hutter 2017)."""

from __future__ import annotations

import math

__all__ = ["lr_factor"]


def lr_factor(step: int, warmup_steps: int, max_steps: int, schedule: str = "constant",
              min_ratio: float = 0.0, time_fraction: float = 0.0) -> float:
    """Multiplier of the base LR for optimizer step `step` (0-based): (step+1)/warmup during warmup, then 1
    (constant) or min_ratio + (1 - min_ratio) * (1 + cos(pi * progress)) / 2 (cosine, progress 0 -> 1 at max_steps,
    or sooner: progress is at least `time_fraction`, the share of a time budget used, so that a run cut by its
    budget ends its decay on time)."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"lr_schedule: {schedule!r} is not 'constant' or 'cosine'")
    progress = min(1.0, max(time_fraction, (step - warmup_steps) / max(1, max_steps - warmup_steps)))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
