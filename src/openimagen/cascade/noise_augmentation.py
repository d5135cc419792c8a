"""Noise-conditioning augmentation of the low-res input of a super-resolution stage (Imagen Sec. 2.4, App. D.2)."""

from __future__ import annotations

import torch
from torch import Tensor

from openimagen.diffusion import Schedule, q_sample

__all__ = ["noise_augment"]


def noise_augment(lowres: Tensor, aug_level: Tensor, schedule: Schedule, noise: Tensor) -> tuple[Tensor, Tensor]:
    """Corrupt `lowres` [b, c, h, w] by the forward process at time `aug_level` [b] in [0, 1]:
    z = alpha(aug) lowres + sigma(aug) noise. Returns (z, aug_log_snr [b]); the network is told aug_log_snr.
    Level 0 returns the clean image exactly (no augmentation); level 1 is noise up to the schedule's clipping."""
    aug_level = torch.as_tensor(aug_level, dtype=lowres.dtype, device=lowres.device).expand(lowres.shape[0])
    aug_log_snr = schedule.log_snr(aug_level).to(lowres.dtype)
    augmented = q_sample(lowres, aug_log_snr, noise)
    clean = (aug_level == 0).reshape(-1, *([1] * (lowres.ndim - 1)))
    return torch.where(clean, lowres, augmented), aug_log_snr
