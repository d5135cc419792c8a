"""Classifier-free guidance (Ho & Salimans 2021; Imagen Sec. 2.2) as a denoiser z, lambda -> x0."""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import Tensor

from openimagen.diffusion.parameterization import prediction_to_x0

Denoiser = Callable[[Tensor, Tensor], Tensor]


def _concat(cond: Mapping[str, Tensor | None], uncond: Mapping[str, Tensor | None]) -> dict[str, Tensor | None]:
    """Stack conditional and unconditional inputs along the batch for one forward pass."""
    if set(cond) != set(uncond):
        raise ValueError(f"cond and uncond need the same keys, got {sorted(cond)} and {sorted(uncond)}")
    both: dict[str, Tensor | None] = {}
    for key, value in cond.items():
        other = uncond[key]
        if (value is None) != (other is None):
            raise ValueError(f"cond[{key!r}] and uncond[{key!r}] must both be tensors or both be None")
        if value is not None and value.shape[1:] != other.shape[1:]:
            raise ValueError(f"cond[{key!r}] has shape {tuple(value.shape)} but uncond has {tuple(other.shape)}; "
                             "pad text embeddings to the same token length")
        both[key] = None if value is None else torch.cat([value, other])
    return both


def guided_denoiser(net_fn: Callable[..., Tensor], cond: Mapping[str, Tensor | None],
                    uncond: Mapping[str, Tensor | None], guidance_scale: float, prediction: str) -> Denoiser:
    """eps~ = w eps(z, c) + (1 - w) eps(z, null). The combination is done on x0, which is affine in eps for a fixed
    z, so it equals guidance in eps (or v) space. Conditional and unconditional passes run as one batched forward;
    w == 1 runs only the conditional pass and w == 0 only the unconditional one.
    `net_fn(z, log_snr, **conditioning) -> prediction`."""
    w = float(guidance_scale)

    def denoise(z: Tensor, log_snr: Tensor) -> Tensor:
        if w == 1.0 or w == 0.0:
            pred = net_fn(z, log_snr, **(cond if w == 1.0 else uncond))
            return prediction_to_x0(pred, z, log_snr, prediction)
        pred_cond, pred_uncond = net_fn(torch.cat([z, z]), torch.cat([log_snr, log_snr]), **_concat(cond, uncond)).chunk(2)
        x0_cond = prediction_to_x0(pred_cond, z, log_snr, prediction)
        x0_uncond = prediction_to_x0(pred_uncond, z, log_snr, prediction)
        return x0_uncond + w * (x0_cond - x0_uncond)

    return denoise
