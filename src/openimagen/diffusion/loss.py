"""The training objective: MSE on the chosen target at t ~ U(0, 1), with optional min-SNR-gamma weighting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Callable

import torch
from torch import Tensor

from openimagen.diffusion.parameterization import PREDICTIONS, training_target
from openimagen.diffusion.process import q_sample
from openimagen.diffusion.schedules import Schedule, get_schedule

WEIGHTINGS = ("none", "min_snr")


@dataclass(frozen=True)
class DiffusionConfig:
    schedule: str = "cosine"          # "cosine" | "linear" | "shifted_cosine"
    schedule_base_res: int = 0        # shifted_cosine only: lambda shifted by 2 log(base_res / res)
    schedule_res: int = 0
    prediction: str = "v"             # what the network predicts: "eps" | "x0" | "v"
    loss_weighting: str = "min_snr"   # "none" (plain MSE on the target) | "min_snr" (Hang et al. 2023)
    min_snr_gamma: float = 5.0
    low_discrepancy: bool = True      # stratified t over the batch (Kingma et al. 2021)

    def __post_init__(self) -> None:
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"DiffusionConfig.prediction: {self.prediction!r} is not one of {PREDICTIONS}")
        if self.loss_weighting not in WEIGHTINGS:
            raise ValueError(f"DiffusionConfig.loss_weighting: {self.loss_weighting!r} is not one of {WEIGHTINGS}")
        if self.min_snr_gamma <= 0:
            raise ValueError(f"DiffusionConfig.min_snr_gamma must be > 0, got {self.min_snr_gamma}")
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


def loss_weight(log_snr: Tensor, prediction: str, weighting: str, gamma: float = 5.0) -> Tensor:
    """Per-sample weight on the MSE of the target. min-SNR-gamma weights the x0-error by min(snr, gamma), i.e.
    min(snr, gamma)/snr on eps, min(snr, gamma)/(snr + 1) on v and min(snr, gamma) on x0 (Hang et al. 2023, Eq. 8)."""
    if weighting == "none":
        return torch.ones_like(log_snr)
    snr = log_snr.exp()
    clipped = snr.clamp(max=gamma)
    return {"eps": clipped / snr, "v": clipped / (snr + 1.0), "x0": clipped}[prediction]


def diffusion_loss(model_fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, config: DiffusionConfig,
                   generator: torch.Generator | None = None, noise: Tensor | None = None,
                   t: Tensor | None = None) -> Tensor:
    """Per-sample loss [b]: w(lambda_t) * mean((model(z_t, lambda_t) - target)^2), z_t = alpha_t x + sigma_t eps."""
    if t is None:
        t = sample_times(x.shape[0], config.low_discrepancy, generator, x.device)
    if noise is None:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    log_snr = config.get_schedule().log_snr(t).to(x.dtype)
    pred = model_fn(q_sample(x, log_snr, noise), log_snr)
    target = training_target(x, noise, log_snr, config.prediction)
    mse = (pred.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    return loss_weight(log_snr.float(), config.prediction, config.loss_weighting, config.min_snr_gamma) * mse
