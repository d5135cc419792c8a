"""Samplers over any denoiser `denoise(z, log_snr) -> x0`, with thresholding of x0 at every step.

Steps are free functions of tensors (one step from t to s < t); `sample` runs a whole chain. Time is continuous, so
the number of steps is chosen at sample time.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from openimagen.diffusion.guidance import Denoiser
from openimagen.diffusion.parameterization import x0_to_eps
from openimagen.diffusion.process import alpha_sigma, broadcast_like, q_posterior
from openimagen.diffusion.schedules import Schedule
from openimagen.diffusion.thresholding import get_threshold

SAMPLERS = ("ancestral", "ddim", "dpmpp_2m")


def time_grid(schedule: Schedule, steps: int, spacing: str = "t") -> Tensor:
    """steps + 1 log-SNR values from t = 1 down to t = 0, spaced uniformly in t or in log-SNR."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    ends = schedule.log_snr(torch.tensor([1.0, 0.0], dtype=torch.float64))
    if spacing == "t":
        return schedule.log_snr(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64))
    if spacing == "log_snr":
        return torch.linspace(float(ends[0]), float(ends[1]), steps + 1, dtype=torch.float64)
    raise ValueError(f"unknown spacing {spacing!r}: expected 't' or 'log_snr'")


def ancestral_step(z_t: Tensor, x0: Tensor, log_snr_t: Tensor, log_snr_s: Tensor, noise: Tensor | None,
                   gamma: float = 0.0) -> Tensor:
    """z_s ~ N(mu~(z_t, x0), var) with var = (sigma~_{s|t}^2)^(1 - gamma) (sigma_{t|s}^2)^gamma (Imagen App. A;
    gamma = 0 is DDPM's posterior variance). `noise=None` takes the mean (the last step)."""
    mean, posterior_var = q_posterior(z_t, x0, log_snr_t, log_snr_s)
    if noise is None:
        return mean
    _, sigma_t = alpha_sigma(broadcast_like(log_snr_t, z_t))
    transition_var = -torch.expm1(broadcast_like(log_snr_t - log_snr_s, z_t)) * sigma_t**2
    var = posterior_var ** (1.0 - gamma) * transition_var**gamma
    return mean + var.sqrt() * noise


def ddim_step(z_t: Tensor, x0: Tensor, log_snr_t: Tensor, log_snr_s: Tensor, noise: Tensor | None = None,
              eta: float = 0.0) -> Tensor:
    """DDIM (Song et al. 2021, Eq. 12): z_s = alpha_s x0 + sqrt(sigma_s^2 - c^2) eps + c noise,
    c^2 = eta^2 sigma~^2_{s|t}, eps re-derived from the (thresholded) x0."""
    eps = x0_to_eps(x0, z_t, log_snr_t)
    alpha_s, sigma_s = alpha_sigma(broadcast_like(log_snr_s, z_t))
    if eta == 0.0 or noise is None:
        return alpha_s * x0 + sigma_s * eps
    c2 = eta**2 * -torch.expm1(broadcast_like(log_snr_t - log_snr_s, z_t)) * sigma_s**2
    return alpha_s * x0 + (sigma_s**2 - c2).clamp(min=0).sqrt() * eps + c2.sqrt() * noise


def dpmpp_2m_step(z_t: Tensor, x0: Tensor, log_snr_t: Tensor, log_snr_s: Tensor, x0_prev: Tensor | None = None,
                  log_snr_prev: Tensor | None = None) -> Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2), data-prediction form, with h in half-log-SNR (their lambda = log
    alpha/sigma): z_s = (sigma_s/sigma_t) z_t + alpha_s (1 - e^{-h}) D, D = x0 or the 2nd-order multistep blend."""
    (_, sigma_t), (alpha_s, sigma_s) = alpha_sigma(log_snr_t), alpha_sigma(log_snr_s)
    h = 0.5 * (log_snr_s - log_snr_t)
    blend = x0
    if x0_prev is not None:
        r = broadcast_like((0.5 * (log_snr_t - log_snr_prev)) / h, z_t)
        blend = (1.0 + 0.5 / r) * x0 - (0.5 / r) * x0_prev
    ratio, coeff = sigma_s / sigma_t, alpha_s * -torch.expm1(-h)
    return broadcast_like(ratio, z_t) * z_t + broadcast_like(coeff, z_t) * blend


def randn_like_on(z: Tensor, generator: torch.Generator | None) -> Tensor:
    """N(0, I) noise shaped like `z`, drawn on the generator's own device and moved to z's (a CPU generator cannot
    draw CUDA tensors; as diffusers' `randn_tensor`), so a seed gives the same noise on any device."""
    device = generator.device if generator is not None else z.device
    return torch.randn(z.shape, generator=generator, device=device, dtype=z.dtype).to(z.device)


def sample(denoise: Denoiser, noise: Tensor, *, schedule: Schedule, sampler: str = "dpmpp_2m", steps: int = 25,
           threshold: str | Callable[[Tensor], Tensor] | None = "dynamic", percentile: float = 0.995,
           max_value: float | None = None, spacing: str = "t", gamma: float = 0.0, eta: float = 0.0,
           generator: torch.Generator | None = None, progress: bool = True) -> Tensor:
    """Run a sampler from z_1 = `noise` to t = 0 and return the final x0 estimate.
    `threshold` is "none" | "static" | "dynamic" | a function x0 -> x0, applied to x0 at every step."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}: expected one of {SAMPLERS}")
    clip = threshold if callable(threshold) else get_threshold(threshold, percentile, max_value)
    log_snrs = time_grid(schedule, steps, spacing).to(noise.device)
    z, x0_prev, log_snr_prev = noise, None, None
    batch = noise.shape[0]
    for i in tqdm(range(steps), desc=sampler, disable=not progress, leave=False):
        log_snr_t, log_snr_s = log_snrs[i], log_snrs[i + 1]
        x0 = clip(denoise(z, log_snr_t.to(noise.dtype).expand(batch)))
        last = i == steps - 1
        step_noise = None if last else randn_like_on(z, generator)
        if sampler == "ancestral":
            z = ancestral_step(z, x0, log_snr_t, log_snr_s, step_noise, gamma)
        elif sampler == "ddim":
            z = ddim_step(z, x0, log_snr_t, log_snr_s, step_noise, eta)
        else:
            use_second_order = x0_prev is not None and not last  # first and last steps are first order
            z = dpmpp_2m_step(z, x0, log_snr_t, log_snr_s, x0_prev if use_second_order else None, log_snr_prev)
            x0_prev, log_snr_prev = x0, log_snr_t
    return z
