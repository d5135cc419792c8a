"""Samplers over any denoiser `denoise(z, log_snr) -> x0`, with thresholding of x0 at every step.

Steps are free functions of tensors (one step from t to s < t); `sample` runs a whole chain. Time is continuous, so
the number of steps is chosen at sample time. `SAMPLERS` is the one registry of sampler names: every sampler is a
stepper with the same signature `(z_t, x0, log_snr_t, log_snr_s, noise, memory, **options) -> z_s` (noise is None
on the last step; `memory` is a dict a multistep sampler keeps between steps).
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from openimagen.diffusion.guidance import Denoiser
from openimagen.diffusion.parameterization import x0_to_eps
from openimagen.diffusion.process import alpha_sigma, broadcast_like, q_posterior
from openimagen.diffusion.schedules import Schedule
from openimagen.diffusion.thresholding import get_threshold


def check_steps(**counts: int) -> None:
    """`check_steps(steps=2.5)` -> a TypeError / ValueError "steps must be an integer >= 1, got 2.5"."""
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{name} must be an integer >= 1, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def check_stochasticity(gamma: float, eta: float) -> None:
    """The ancestral sampler's `gamma` in [0, 1] and DDIM's `eta` >= 0, finite (NaN would make every image NaN)."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if not 0.0 <= eta < math.inf:
        raise ValueError(f"eta must be a finite number >= 0, got {eta}")


def time_grid(schedule: Schedule, steps: int, spacing: str = "t") -> Tensor:
    """steps + 1 log-SNR values from t = 1 down to t = 0, spaced uniformly in t or in log-SNR."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule such as get_schedule('cosine'), got {type(schedule).__name__}")
    check_steps(steps=steps)
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


def _ancestral(z_t, x0, log_snr_t, log_snr_s, noise, memory, gamma: float = 0.0, **_) -> Tensor:
    return ancestral_step(z_t, x0, log_snr_t, log_snr_s, noise, gamma)


def _ddim(z_t, x0, log_snr_t, log_snr_s, noise, memory, eta: float = 0.0, **_) -> Tensor:
    return ddim_step(z_t, x0, log_snr_t, log_snr_s, noise, eta)


def _dpmpp_2m(z_t, x0, log_snr_t, log_snr_s, noise, memory, **_) -> Tensor:
    second_order = "x0" in memory and noise is not None      # the first and the last steps are first order
    z_s = dpmpp_2m_step(z_t, x0, log_snr_t, log_snr_s, memory.get("x0") if second_order else None,
                        memory.get("log_snr"))
    memory.update(x0=x0, log_snr=log_snr_t)
    return z_s


Stepper = Callable[..., Tensor]
SAMPLERS: dict[str, Stepper] = {"ancestral": _ancestral, "ddim": _ddim, "dpmpp_2m": _dpmpp_2m}
SAMPLER_ALIASES = {"dpmpp": "dpmpp_2m"}


def sampler_choices() -> list[str]:
    """Every name a user may give: the registry's names and their aliases."""
    return sorted(SAMPLERS) + sorted(SAMPLER_ALIASES)


def resolve_sampler(name: str) -> str:
    """The registry name of `name` (aliases resolved); a ValueError listing the choices for anything else."""
    name = SAMPLER_ALIASES.get(name, name)
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}: expected one of {sampler_choices()}")
    return name


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
    step = SAMPLERS[resolve_sampler(sampler)]
    check_stochasticity(gamma, eta)
    clip = threshold if callable(threshold) else get_threshold(threshold, percentile, max_value)
    log_snrs = time_grid(schedule, steps, spacing).to(noise.device)
    z, memory, batch = noise, {}, noise.shape[0]
    for i in tqdm(range(steps), desc=sampler, disable=not progress, leave=False):
        log_snr_t, log_snr_s = log_snrs[i], log_snrs[i + 1]
        x0 = clip(denoise(z, log_snr_t.to(noise.dtype).expand(batch)))
        # Every sampler draws one noise tensor per step but the last, used or not: a seed gives later stages the
        # same random stream whichever sampler ran before them.
        step_noise = None if i == steps - 1 else randn_like_on(z, generator)
        z = step(z, x0, log_snr_t, log_snr_s, step_noise, memory, gamma=gamma, eta=eta)
    return z
