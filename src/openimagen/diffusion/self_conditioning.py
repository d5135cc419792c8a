"""Self-conditioning (Chen, Zhang & Hinton 2022, "Analog Bits", Sec. 3.2): the network also sees its own estimate
of x0. Training: for a random half of the samples a first pass without gradients gives the estimate that the
trained pass then sees; the other half sees zeros, as the first sampling step does. Sampling: every step sees the
x0 of the step before it."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from openimagen.diffusion.guidance import Denoiser
from openimagen.diffusion.parameterization import prediction_to_x0

__all__ = ["first_pass_estimate", "PreviousEstimate"]


def first_pass_estimate(net_fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor], z: Tensor, log_snr: Tensor,
                        use: Tensor, prediction: str) -> Tensor:
    """The self-conditioning input of a training step [b, ...]: the x0 of a pass without gradients (seeing zeros)
    for the samples where `use` [b] is true, zeros elsewhere. `net_fn(z, log_snr, rows, self_cond)` runs the
    network on the batch rows `rows` (their conditioning included)."""
    estimate = torch.zeros_like(z)
    rows = use.nonzero().squeeze(1)
    if len(rows):
        with torch.no_grad():
            pred = net_fn(z[rows], log_snr[rows], rows, torch.zeros_like(z[rows]))
            estimate[rows] = prediction_to_x0(pred, z[rows], log_snr[rows], prediction).to(z.dtype)
    return estimate


class PreviousEstimate:
    """The sampling side: `network(...)` feeds the network the last x0 that `denoiser(...)` returned, clipped to the
    data range [-1, 1] (zeros before the first step); guided passes (z stacked twice) see it twice."""

    def __init__(self) -> None:
        self.x0: Tensor | None = None

    def network(self, net_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        def call(z: Tensor, log_snr: Tensor, **conditioning) -> Tensor:
            if self.x0 is None:
                previous = torch.zeros_like(z)
            else:
                previous = self.x0.to(z.dtype).repeat(z.shape[0] // self.x0.shape[0], *([1] * (z.dim() - 1)))
            return net_fn(z, log_snr, self_cond=previous, **conditioning)
        return call

    def denoiser(self, denoise: Denoiser) -> Denoiser:
        def call(z: Tensor, log_snr: Tensor) -> Tensor:
            x0 = denoise(z, log_snr)
            self.x0 = x0.detach().clamp(-1.0, 1.0)
            return x0
        return call
