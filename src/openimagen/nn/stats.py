"""Parameter count and FLOPs per forward of a network (FLOPs counted by torch's FlopCounterMode)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class NetworkStats:
    params: int               # trainable parameters
    flops_per_forward: int    # multiply-adds counted as 2 FLOPs (convs, matmuls, attention)
    image_size: int
    batch_size: int

    def __str__(self) -> str:
        return (f"{self.params / 1e6:.2f}M params, {self.flops_per_forward / 1e9:.2f} GFLOP per forward "
                f"(batch {self.batch_size}, {self.image_size}px)")


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def example_inputs(net: nn.Module, image_size: int, batch_size: int = 1, text_len: int = 16,
                   lowres_size: int | None = None, device=None) -> dict:
    """Random inputs matching net.config (lowres at image_size // 2 unless lowres_size is given)."""
    c = net.config
    device = device or next(net.parameters()).device
    g = {"device": device}
    inputs = dict(x=torch.randn(batch_size, c.in_channels, image_size, image_size, **g),
                  log_snr=torch.randn(batch_size, **g), text_emb=torch.randn(batch_size, text_len, c.text_dim, **g),
                  text_mask=torch.ones(batch_size, text_len, dtype=torch.bool, device=device))
    if c.lowres_cond:
        lr = lowres_size or image_size // 2
        inputs.update(lowres=torch.randn(batch_size, c.in_channels, lr, lr, **g), aug_log_snr=torch.randn(batch_size, **g))
    if c.inpaint_cond:
        inputs["inpaint"] = torch.randn(batch_size, c.in_channels + 1, image_size, image_size, **g)
    return inputs


def network_stats(net: nn.Module, image_size: int, batch_size: int = 1, text_len: int = 16) -> NetworkStats:
    """Params and forward FLOPs at one image size (works on the meta device: nothing is computed)."""
    inputs = example_inputs(net, image_size, batch_size, text_len)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(**inputs)
    return NetworkStats(count_parameters(net), counter.get_total_flops(), image_size, batch_size)
