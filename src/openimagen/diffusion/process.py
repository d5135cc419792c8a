"""The variance-preserving Gaussian forward process and its posteriors, in log-SNR form (Imagen App. A)."""

from __future__ import annotations

import torch
from torch import Tensor


def broadcast_like(values: Tensor, x: Tensor) -> Tensor:
    """Reshape per-sample values [b] (or a scalar) so they broadcast against x [b, ...]."""
    values = torch.as_tensor(values, dtype=x.dtype, device=x.device)
    return values.reshape(-1, *([1] * (x.ndim - 1))) if values.ndim else values


def alpha_sigma(log_snr: Tensor) -> tuple[Tensor, Tensor]:
    """alpha^2 = sigmoid(lambda), sigma^2 = sigmoid(-lambda), so alpha^2 + sigma^2 = 1 and lambda = log(alpha^2/sigma^2)."""
    return torch.sigmoid(log_snr).sqrt(), torch.sigmoid(-log_snr).sqrt()


def q_sample(x: Tensor, log_snr: Tensor, noise: Tensor) -> Tensor:
    """z_t = alpha_t x + sigma_t eps: a sample of q(z_t | x)."""
    alpha, sigma = alpha_sigma(broadcast_like(log_snr, x))
    return alpha * x + sigma * noise


def q_transition(z_s: Tensor, log_snr_s: Tensor, log_snr_t: Tensor) -> tuple[Tensor, Tensor]:
    """q(z_t | z_s) = N((alpha_t/alpha_s) z_s, sigma_{t|s}^2 I), sigma_{t|s}^2 = (1 - e^{lambda_t - lambda_s}) sigma_t^2
    for t > s (lambda_t < lambda_s). Returns (mean, variance)."""
    log_snr_s, log_snr_t = broadcast_like(log_snr_s, z_s), broadcast_like(log_snr_t, z_s)
    (alpha_s, _), (alpha_t, sigma_t) = alpha_sigma(log_snr_s), alpha_sigma(log_snr_t)
    variance = -torch.expm1(log_snr_t - log_snr_s) * sigma_t**2
    return (alpha_t / alpha_s) * z_s, variance


def q_posterior(z_t: Tensor, x: Tensor, log_snr_t: Tensor, log_snr_s: Tensor) -> tuple[Tensor, Tensor]:
    """q(z_s | z_t, x) = N(mu, sigma~^2 I) for s < t (Imagen App. A):
    mu = e^{lambda_t - lambda_s} (alpha_s/alpha_t) z_t + (1 - e^{lambda_t - lambda_s}) alpha_s x,
    sigma~^2 = (1 - e^{lambda_t - lambda_s}) sigma_s^2. Returns (mean, variance)."""
    log_snr_t, log_snr_s = broadcast_like(log_snr_t, z_t), broadcast_like(log_snr_s, z_t)
    (alpha_t, _), (alpha_s, sigma_s) = alpha_sigma(log_snr_t), alpha_sigma(log_snr_s)
    ratio = torch.exp(log_snr_t - log_snr_s)
    one_minus_ratio = -torch.expm1(log_snr_t - log_snr_s)
    mean = ratio * (alpha_s / alpha_t) * z_t + one_minus_ratio * alpha_s * x
    return mean, one_minus_ratio * sigma_s**2
