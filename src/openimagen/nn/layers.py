"""Small building blocks shared by both U-Nets: fp32 GroupNorm, zero-init, noise-level embedding, FiLM."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_SNR_CLAMP = 30.0   # |log-SNR| beyond this is numerically "clean" / "pure noise"; keeps the sinusoids finite


def num_groups_for(channels: int, max_groups: int) -> int:
    """Largest group count <= max_groups dividing channels."""
    return math.gcd(channels, max_groups)


class GroupNorm32(nn.GroupNorm):
    """GroupNorm whose statistics are accumulated in fp32 for any input dtype, output in the input dtype.

    torch's bf16/fp16 group_norm kernels already accumulate mean and variance in fp32 (and CUDA autocast runs
    group_norm in fp32), so no explicit upcast is needed; on CPU the upcast copy costs ~15x the norm itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


def group_norm(channels: int, max_groups: int) -> GroupNorm32:
    return GroupNorm32(num_groups_for(channels, max_groups), channels)


def zero_init(module: nn.Module) -> nn.Module:
    """Zero all parameters: residual branches start as identity (ADM), the output conv starts at 0."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def small_normal(*size: int, std: float = 0.02) -> nn.Parameter:
    """A parameter drawn from N(0, std^2) (the same numbers as `torch.randn(*size) * std`). On the meta device
    (shapes only, e.g. to check a saved model) nothing is drawn: drawing there would import torch._dynamo (~1 s)."""
    values = torch.empty(*size)
    return nn.Parameter(values if values.is_meta else torch.randn(*size) * std)


def sinusoidal_features(log_snr: torch.Tensor, dim: int, min_freq: float = 1e-3, max_freq: float = 30.0) -> torch.Tensor:
    """[b] -> [b, dim] sin/cos features of log-SNR at geometrically spaced frequencies (Transformer PE, on log-SNR)."""
    half = dim // 2
    freqs = torch.exp(torch.linspace(math.log(min_freq), math.log(max_freq), half, device=log_snr.device))
    args = log_snr.float().clamp(-LOG_SNR_CLAMP, LOG_SNR_CLAMP)[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


class NoiseLevelEmbedding(nn.Module):
    """log-SNR [b] -> conditioning vector [b, cond_dim]: sinusoidal features -> MLP (like DDPM's time embedding)."""

    def __init__(self, features: int, cond_dim: int):
        super().__init__()
        self.features = features
        self.mlp = nn.Sequential(nn.Linear(features, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))

    def forward(self, log_snr: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_features(log_snr, self.features))


class FiLM(nn.Module):
    """Scale-and-shift conditioning: x * (1 + scale) + shift with (scale, shift) = Linear(SiLU(emb))."""

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 2 * channels))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(emb)[:, :, None, None].chunk(2, dim=1)
        return torch.addcmul(shift, x, 1 + scale)


def maybe_checkpoint(enabled: bool, fn, *args):
    """Run fn(*args), recomputing its activations in backward when enabled (gradient checkpointing)."""
    if enabled and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


def pixel_centres(n: int, device=None, dtype=None) -> torch.Tensor:
    """[n] centres of n pixels along one axis in [-1, 1] (first = -1 + 1/n)."""
    return torch.linspace(-1 + 1 / n, 1 - 1 / n, n, device=device, dtype=dtype)
