"""Thresholding of the predicted x0 at every sampling step (Imagen Sec. 2.3)."""

from __future__ import annotations

import torch
from torch import Tensor


def static_threshold(x0: Tensor) -> Tensor:
    """Static thresholding: clip x0 to [-1, 1]."""
    return x0.clamp(-1.0, 1.0)


def _row_quantile(values: Tensor, q: float) -> Tensor:
    """Linear-interpolated quantile of each row of [b, n] (as torch.quantile, without its input-size limit)."""
    ordered = values.sort(dim=1).values
    position = q * (ordered.shape[1] - 1)
    low = int(position)
    high = min(low + 1, ordered.shape[1] - 1)
    return torch.lerp(ordered[:, low], ordered[:, high], position - low)


def dynamic_threshold(x0: Tensor, percentile: float = 0.995, max_value: float | None = None) -> Tensor:
    """Dynamic thresholding (Imagen Sec. 2.3): per sample s = percentile(|x0|, p), s = max(s, 1) (and
    min(s, max_value) if given, as DeepFloyd IF's `sample_max_value`), then x0 = clip(x0, -s, s) / s."""
    if not 0.0 < percentile <= 1.0:
        raise ValueError(f"percentile must be in (0, 1], got {percentile}")
    flat = x0.detach().float().abs().flatten(1)
    s = _row_quantile(flat, percentile).clamp(min=1.0, max=max_value)
    s = s.to(x0.dtype).reshape(-1, *([1] * (x0.ndim - 1)))
    return torch.maximum(torch.minimum(x0, s), -s) / s


def get_threshold(kind: str | None, percentile: float = 0.995, max_value: float | None = None):
    """A function x0 -> x0 by name: "none", "static" or "dynamic"."""
    if kind in (None, "none"):
        return lambda x0: x0
    if kind == "static":
        return static_threshold
    if kind == "dynamic":
        if not 0.0 < percentile <= 1.0:                 # checked here too, before any network forward
            raise ValueError(f"percentile must be in (0, 1], got {percentile}")
        return lambda x0: dynamic_threshold(x0, percentile, max_value)
    raise ValueError(f"unknown threshold {kind!r}: expected 'none', 'static' or 'dynamic'")
