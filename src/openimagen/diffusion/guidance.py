"""Classifier-free guidance (Ho & Salimans 2021; Imagen Sec. 2.2) as a denoiser z, lambda -> x0."""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import Tensor

from openimagen.diffusion.parameterization import PREDICTIONS, prediction_to_x0

Denoiser = Callable[[Tensor, Tensor], Tensor]
Interval = tuple[float | None, float | None]


def _concat(cond: Mapping[str, Tensor | None], uncond: Mapping[str, Tensor | None]) -> dict[str, Tensor | None]:
    """Stack conditional and unconditional inputs along the batch for one forward pass."""
    if set(cond) != set(uncond):
        raise ValueError(f"cond and uncond need the same keys, got {sorted(cond)} and {sorted(uncond)}")
    both: dict[str, Tensor | None] = {}
    for key, value in cond.items():
        other = uncond[key]
        if (value is None) != (other is None):
            raise ValueError(f"cond[{key!r}] and uncond[{key!r}] must both be tensors or both be None")
        if value is not None and value.shape[1:] != other.shape[1:]:
            raise ValueError(f"cond[{key!r}] has shape {tuple(value.shape)} but uncond has {tuple(other.shape)}; "
                             "pad text embeddings to the same token length")
        both[key] = None if value is None else torch.cat([value, other])
    return both


def in_interval(log_snr: Tensor, interval: Interval | None) -> Tensor:
    """Which noise levels [b] lie in the log-SNR `interval` (lo, hi), bounds inclusive; None bounds are open."""
    inside = torch.ones_like(log_snr, dtype=torch.bool)
    if interval is not None:
        lo, hi = interval
        if lo is not None:
            inside &= log_snr >= lo
        if hi is not None:
            inside &= log_snr <= hi
    return inside


def guided_denoiser(net_fn: Callable[..., Tensor], cond: Mapping[str, Tensor | None],
                    uncond: Mapping[str, Tensor | None], guidance_scale: float, prediction: str,
                    interval: Interval | None = None) -> Denoiser:
    """eps~ = w eps(z, c) + (1 - w) eps(z, null). The combination is done on x0, which is affine in eps for a fixed
    z, so it equals guidance in eps (or v) space. Conditional and unconditional passes run as one batched forward;
    w == 1 runs only the conditional pass and w == 0 only the unconditional one. `interval` = (lo, hi) log-SNR
    limits guidance to those noise levels and uses w = 1 (the conditional pass alone) elsewhere: the guidance
    interval of Kynkaanniemi et al. 2024 (their sigma is exp(-log_snr / 2)).
    `net_fn(z, log_snr, **conditioning) -> prediction`."""
    w = float(guidance_scale)
    if not math.isfinite(w):
        raise ValueError(f"guidance_scale must be a finite number, got {guidance_scale}")
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}: expected one of {PREDICTIONS}")
    if interval is not None and (not isinstance(interval, (tuple, list)) or len(interval) != 2):
        raise ValueError(f"interval must be (lo, hi) log-SNR bounds (None = open), got {interval!r}")

    def denoise(z: Tensor, log_snr: Tensor) -> Tensor:
        inside = in_interval(log_snr, interval)
        if w == 1.0 or not inside.any() or (w == 0.0 and inside.all()):      # one pass is enough
            pred = net_fn(z, log_snr, **(uncond if w == 0.0 and inside.any() else cond))
            return prediction_to_x0(pred, z, log_snr, prediction)
        both = net_fn(torch.cat([z, z]), torch.cat([log_snr, log_snr]), **_concat(cond, uncond))
        pred_cond, pred_uncond = both.chunk(2)
        x0_cond = prediction_to_x0(pred_cond, z, log_snr, prediction)
        x0_uncond = prediction_to_x0(pred_uncond, z, log_snr, prediction)
        weight = torch.where(inside, w, 1.0).to(x0_cond.dtype).view(-1, *([1] * (x0_cond.dim() - 1)))
        return x0_uncond + weight * (x0_cond - x0_uncond)

    return denoise
