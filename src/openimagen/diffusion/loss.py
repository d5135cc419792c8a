"""The training objective: MSE on the chosen target at t ~ U(0, 1), with optional SNR-based weighting and an optional
shift of the training noise levels toward noise (training only: sampling keeps the schedule)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Callable

import torch
from torch import Tensor

from openimagen.diffusion.parameterization import PREDICTIONS, training_target
from openimagen.diffusion.process import q_sample
from openimagen.diffusion.schedules import LOG_SNR_MAX, LOG_SNR_MIN, Schedule, get_schedule

WEIGHTINGS = ("none", "min_snr", "clamped_snr")


@dataclass(frozen=True)
class DiffusionConfig:
    schedule: str = "cosine"          # "cosine" | "linear" | "shifted_cosine"
    schedule_base_res: int = 0        # shifted_cosine only: lambda shifted by 2 log(base_res / res)
    schedule_res: int = 0
    prediction: str = "v"             # what the network predicts: "eps" | "x0" | "v"
    loss_weighting: str = "min_snr"   # "none" (plain MSE on the target) | "min_snr" (Hang et al. 2023) | "clamped_snr"
    min_snr_gamma: float = 5.0
    low_discrepancy: bool = True      # stratified t over the batch (Kingma et al. 2021)
    train_shift: float = 0.0          # added to lambda of a share of training samples (< 0: noisier), sampling unchanged
    train_shift_fraction: float = 1.0  # that share of every batch

    def __post_init__(self) -> None:
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"DiffusionConfig.prediction: {self.prediction!r} is not one of {PREDICTIONS}")
        if self.loss_weighting not in WEIGHTINGS:
            raise ValueError(f"DiffusionConfig.loss_weighting: {self.loss_weighting!r} is not one of {WEIGHTINGS}")
        if not 0 < self.min_snr_gamma < math.inf:       # NaN too: it would make every loss NaN
            raise ValueError(f"DiffusionConfig.min_snr_gamma must be a finite number > 0, got {self.min_snr_gamma}")
        if not math.isfinite(self.train_shift):
            raise ValueError(f"DiffusionConfig.train_shift must be a finite number, got {self.train_shift}")
        if not 0.0 <= self.train_shift_fraction <= 1.0:
            raise ValueError(f"DiffusionConfig.train_shift_fraction must be in [0, 1], got {self.train_shift_fraction}")
        self.get_schedule()  # validates the schedule name and its arguments

    def get_schedule(self) -> Schedule:
        return get_schedule(self.schedule, base_res=self.schedule_base_res or None, res=self.schedule_res or None)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DiffusionConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"DiffusionConfig: unknown key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**data)


def sample_times(batch: int, low_discrepancy: bool = True, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> Tensor:
    """t ~ U(0, 1) per sample; low-discrepancy: t_i = (u + i / batch) mod 1 with one shared u (VDM App. I)."""
    if not low_discrepancy:
        return torch.rand(batch, generator=generator, device=device)
    u = torch.rand(1, generator=generator, device=device)
    return (u + torch.arange(batch, device=device) / batch) % 1.0


def shifted_share(batch: int, fraction: float, device: torch.device | str = "cpu") -> Tensor:
    """Bool [batch]: which samples get the training shift, spread evenly over the batch so that a stratified t
    stays stratified within both shares (sample i is in iff floor((i + 1) f) > floor(i f))."""
    i = torch.arange(batch, device=device, dtype=torch.float64)
    return torch.floor((i + 1) * fraction) > torch.floor(i * fraction)


def loss_weight(log_snr: Tensor, prediction: str, weighting: str, gamma: float = 5.0) -> Tensor:
    """Per-sample weight on the MSE of the target, from a weight w(snr) on the x0-error: w/snr on eps, w/(snr + 1)
    on v, w on x0. min-SNR-gamma: w = min(snr, gamma) (Hang et al. 2023, Eq. 8), which vanishes at high noise;
    clamped_snr: w = clamp(snr, 1, gamma), min-SNR's cap with truncated-SNR's floor of 1 (Salimans & Ho 2022,
    Sec. 4), so the noisy levels where a layout is decided keep the weight plain x0- or v-loss gives them."""
    if weighting == "none":
        return torch.ones_like(log_snr)
    snr = log_snr.exp()
    w = snr.clamp(max=gamma) if weighting == "min_snr" else snr.clamp(min=min(1.0, gamma), max=gamma)
    return {"eps": w / snr, "v": w / (snr + 1.0), "x0": w}[prediction]


def diffusion_loss(model_fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, config: DiffusionConfig,
                   generator: torch.Generator | None = None, noise: Tensor | None = None,
                   t: Tensor | None = None) -> Tensor:
    """Per-sample loss [b]: w(lambda_t) * mean((model(z_t, lambda_t) - target)^2), z_t = alpha_t x + sigma_t eps."""
    if t is None:
        t = sample_times(x.shape[0], config.low_discrepancy, generator, x.device)
    if noise is None:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    log_snr = config.get_schedule().log_snr(t).to(x.dtype)
    if config.train_shift:
        shift = config.train_shift * shifted_share(x.shape[0], config.train_shift_fraction, x.device).to(x.dtype)
        log_snr = (log_snr + shift).clamp(LOG_SNR_MIN, LOG_SNR_MAX)
    pred = model_fn(q_sample(x, log_snr, noise), log_snr)
    target = training_target(x, noise, log_snr, config.prediction)
    mse = (pred.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    return loss_weight(log_snr.float(), config.prediction, config.loss_weighting, config.min_snr_gamma) * mse
