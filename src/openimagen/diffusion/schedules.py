"""Noise schedules in log-SNR form: a schedule is a pair of functions t -> lambda and lambda -> t.

Time t runs over [0, 1]; lambda_t = log(alpha_t^2 / sigma_t^2) decreases in t (Imagen App. A; Kingma et al. 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

LOG_SNR_MAX = 20.0  # the usual clipping of the ends (Hoogeboom et al. 2023, "simple diffusion")
LOG_SNR_MIN = -20.0


@dataclass(frozen=True)
class Schedule:
    """Base class: subclasses implement `log_snr(t)` and its inverse `t_from_log_snr(log_snr)`."""

    name: str

    def log_snr(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def t_from_log_snr(self, log_snr: Tensor) -> Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class CosineSchedule(Schedule):
    """Cosine schedule (Nichol & Dhariwal 2021) in log-SNR form: lambda(t) = -2 log tan(pi t / 2), clipped to
    [log_snr_min, log_snr_max] by rescaling t into the matching angle interval; `shift` adds a constant to lambda
    (the shifted cosine of "simple diffusion": shift = 2 log(base_res / res))."""

    name: str = "cosine"
    log_snr_min: float = LOG_SNR_MIN
    log_snr_max: float = LOG_SNR_MAX
    shift: float = 0.0

    def _angle_range(self) -> tuple[float, float]:
        return math.atan(math.exp(-0.5 * self.log_snr_max)), math.atan(math.exp(-0.5 * self.log_snr_min))

    def log_snr(self, t: Tensor) -> Tensor:
        a_min, a_max = self._angle_range()
        return -2.0 * torch.log(torch.tan(a_min + t * (a_max - a_min))) + self.shift

    def t_from_log_snr(self, log_snr: Tensor) -> Tensor:
        a_min, a_max = self._angle_range()
        return (torch.atan(torch.exp(-0.5 * (log_snr - self.shift))) - a_min) / (a_max - a_min)


@dataclass(frozen=True)
class LinearSchedule(Schedule):
    """DDPM's linear beta schedule in continuous time (Song et al. 2021, VP-SDE): beta(t) = b0 + t (b1 - b0),
    alpha_t^2 = exp(-(b0 t + (b1 - b0) t^2 / 2)), so lambda(t) = -log(expm1(b0 t + (b1 - b0) t^2 / 2)).
    b0 = 0.1, b1 = 20 are DDPM's betas 1e-4 .. 0.02 over 1000 steps. Clipped to [log_snr_min, log_snr_max]."""

    name: str = "linear"
    beta_min: float = 0.1
    beta_max: float = 20.0
    log_snr_min: float = LOG_SNR_MIN
    log_snr_max: float = LOG_SNR_MAX

    def log_snr(self, t: Tensor) -> Tensor:
        integral = self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2
        return (-torch.log(torch.expm1(integral))).clamp(self.log_snr_min, self.log_snr_max)

    def t_from_log_snr(self, log_snr: Tensor) -> Tensor:
        integral = torch.nn.functional.softplus(-log_snr.clamp(self.log_snr_min, self.log_snr_max))  # log1p(e^-l)
        slope = self.beta_max - self.beta_min
        return (torch.sqrt(self.beta_min**2 + 2.0 * slope * integral) - self.beta_min) / slope


def get_schedule(name: str = "cosine", *, base_res: int | None = None, res: int | None = None) -> Schedule:
    """A schedule by name: "cosine", "linear", or "shifted_cosine" (needs base_res and res)."""
    if name == "cosine":
        return CosineSchedule()
    if name == "linear":
        return LinearSchedule()
    if name == "shifted_cosine":
        if not base_res or not res or base_res < 0 or res < 0:
            raise ValueError(f"schedule 'shifted_cosine' needs base_res and res > 0, e.g. base_res=64, res=256; "
                             f"got base_res={base_res}, res={res}")
        return CosineSchedule(name="shifted_cosine", shift=2.0 * math.log(base_res / res))
    raise ValueError(f"unknown schedule {name!r}: expected 'cosine', 'linear' or 'shifted_cosine'")
