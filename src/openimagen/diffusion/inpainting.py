"""Inpainting with an unconditional-in-the-mask sampler: RePaint (Lugmayr et al. 2022, Alg. 1), in log-SNR form.

Before every denoising step from t the known region of z_t is replaced by a fresh sample of q(z_t | x_known)
(their Eq. 8: x_{t}^known ~ N(alpha_t x0, sigma_t^2 I)); with resampling, the chain jumps back up `jump_length`
steps (q(z_t | z_s), their Eq. 1 / Alg. 1 line 8) `jump_n_sample - 1` times at every `jump_length`-th step, so the
generated region can harmonise with the known one. Any sampler of `SAMPLERS` does the denoising steps.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from openimagen.diffusion.guidance import Denoiser
from openimagen.diffusion.process import q_sample, q_transition
from openimagen.diffusion.samplers import (SAMPLERS, check_steps, check_stochasticity, randn_like_on, resolve_sampler,
                                          time_grid)
from openimagen.diffusion.schedules import Schedule
from openimagen.diffusion.thresholding import get_threshold

__all__ = ["repaint_schedule", "replace_known", "repaint_sample"]


def repaint_schedule(steps: int, jump_length: int = 1, jump_n_sample: int = 1) -> list[int]:
    """Indices into the `steps + 1` point time grid (0 = t=1, noise; steps = t=0) visited in order: +1 is a
    denoising step, -1 a jump back up. As RePaint's `get_schedule_jump`: with r steps left, for r in
    {0, L, 2L, ...} below steps - L, the chain goes back up L steps and down again, `jump_n_sample - 1` times."""
    check_steps(steps=steps, jump_length=jump_length, jump_n_sample=jump_n_sample)
    jumps = {left: jump_n_sample - 1 for left in range(0, steps - jump_length, jump_length)}
    index, visited = 0, [0]
    while index < steps:
        index += 1
        visited.append(index)
        if jumps.get(steps - index, 0) > 0:
            jumps[steps - index] -= 1
            for _ in range(jump_length):
                index -= 1
                visited.append(index)
    return visited


def replace_known(z: Tensor, known: Tensor, mask: Tensor, log_snr: Tensor, noise: Tensor) -> Tensor:
    """z where `mask` is 1 (regenerate), a sample of q(z_t | known) = alpha_t known + sigma_t noise elsewhere.
    mask [b or 1, 1, h, w] in {0, 1} broadcasts over channels; an all-ones mask returns z exactly."""
    return mask * z + (1.0 - mask) * q_sample(known, log_snr, noise)


def check_known_region(noise: Tensor, known: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """`known` shaped like `noise` [b, c, h, w] (or one image for the batch), `mask` broadcasting to it ([b, 1, h, w];
    values in [0, 1], a bool mask is made float); a ValueError naming the one that does not fit."""
    b, *image = noise.shape
    if known.shape[1:] != noise.shape[1:] or known.shape[0] not in (1, b):
        raise ValueError(f"known must be shaped like noise {tuple(noise.shape)} (or [1, {', '.join(map(str, image))}]),"
                         f" got {tuple(known.shape)}")
    if mask.ndim != noise.ndim or _broadcast(mask.shape, noise.shape) != noise.shape:
        raise ValueError(f"mask must broadcast to noise's shape {tuple(noise.shape)} (usually [b, 1, h, w], "
                         f"1 = regenerate), got {tuple(mask.shape)}")
    mask = mask.to(noise.dtype)
    if mask.numel() and not (0 <= float(mask.min()) and float(mask.max()) <= 1):
        raise ValueError(f"mask must hold values in [0, 1] (1 = regenerate), got [{float(mask.min()):g}, "
                         f"{float(mask.max()):g}]")
    return known.to(noise.dtype), mask


def _broadcast(a: torch.Size, b: torch.Size) -> torch.Size | None:
    try:
        return torch.broadcast_shapes(a, b)
    except RuntimeError:
        return None


def repaint_sample(denoise: Denoiser, noise: Tensor, known: Tensor, mask: Tensor, *, schedule: Schedule,
                   sampler: str = "dpmpp_2m", steps: int = 25, jump_length: int = 1, jump_n_sample: int = 1,
                   threshold: str | Callable[[Tensor], Tensor] | None = "dynamic", percentile: float = 0.995,
                   gamma: float = 0.0, eta: float = 0.0, generator: torch.Generator | None = None,
                   known_generator: torch.Generator | None = None, progress: bool = True) -> Tensor:
    """RePaint from z_1 = `noise`: returns the final z_0 (not composited: the caller pastes `known` back).
    `known` [b, c, h, w] is the image to keep where `mask` [b, 1, h, w] is 0. The sampler's noise comes from
    `generator` exactly as in `sample` (so an all-ones mask without jumps gives `sample`'s result), the known
    region's noise from `known_generator` (default: `generator`), the jumps' noise from `generator`."""
    known, mask = check_known_region(noise, known, mask)
    step = SAMPLERS[resolve_sampler(sampler)]
    check_stochasticity(gamma, eta)
    clip = threshold if callable(threshold) else get_threshold(threshold, percentile)
    log_snrs = time_grid(schedule, steps).to(noise.device)
    known_generator = known_generator or generator
    path = repaint_schedule(steps, jump_length, jump_n_sample)
    z, memory, batch = noise, {}, noise.shape[0]
    for here, there in tqdm(list(zip(path, path[1:])), desc=f"repaint {sampler}", disable=not progress, leave=False):
        log_snr_here, log_snr_there = log_snrs[here], log_snrs[there]
        if there < here:                                   # jump back up: z_there ~ q(z_there | z_here)
            mean, variance = q_transition(z, log_snr_here, log_snr_there)
            z, memory = mean + variance.sqrt() * randn_like_on(z, generator), {}
            continue
        z = replace_known(z, known, mask, log_snr_here.to(z.dtype), randn_like_on(z, known_generator))
        x0 = clip(denoise(z, log_snr_here.to(noise.dtype).expand(batch)))
        step_noise = None if there == steps else randn_like_on(z, generator)
        z = step(z, x0, log_snr_here, log_snr_there, step_noise, memory, gamma=gamma, eta=eta)
    return z
