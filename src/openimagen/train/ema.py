"""Exponential moving average of the weights, with a warmup of the decay (Karras et al. 2022; crowsonkb/k-diffusion)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ema_decay_at", "EMA"]


def ema_decay_at(step: int, max_decay: float, warmup_power: float) -> float:
    """decay_t = min(max_decay, 1 - (1 + t)^-power): 0 at t = 0, so the EMA starts as a copy of the weights and
    forgets the random init quickly; power 0 = constant `max_decay`."""
    if warmup_power == 0:
        return max_decay
    return min(max_decay, 1.0 - (1.0 + step) ** -warmup_power)


class EMA:
    """fp32 shadow copies of a module's floating-point parameters and buffers: ema <- d * ema + (1 - d) * w."""

    def __init__(self, module: nn.Module, max_decay: float = 0.9999, warmup_power: float = 0.75) -> None:
        self.max_decay, self.warmup_power = max_decay, warmup_power
        self.shadow = {name: t.detach().float().clone() for name, t in module.state_dict().items()
                       if t.is_floating_point()}

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> float:
        """Fold `module`'s current weights in, with the decay for optimizer step `step`; returns the decay used."""
        decay = ema_decay_at(step, self.max_decay, self.warmup_power)
        current = module.state_dict()
        # one fused call over all tensors (torch._foreach_*: what torch.optim uses for its foreach=True steps)
        torch._foreach_lerp_(list(self.shadow.values()), [current[name].detach().float() for name in self.shadow],
                             1.0 - decay)
        return decay

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = sorted(set(self.shadow) - set(state))
        if missing:
            raise KeyError(f"EMA state is missing {missing[:5]}; the checkpoint belongs to a different network")
        self.shadow = {name: state[name].float().clone() for name in self.shadow}

    def copy_to(self, module: nn.Module, shadow: dict[str, torch.Tensor] | None = None) -> None:
        """Write the EMA weights (or `shadow`: their full tensors gathered from FSDP shards) into `module` (cast to its
        dtypes)."""
        shadow = self.shadow if shadow is None else shadow
        state = module.state_dict()
        module.load_state_dict({k: (shadow[k].to(v.dtype) if k in shadow else v) for k, v in state.items()})
