"""Residual blocks and resampling shared by both U-Nets (ADM; Imagen Fig. A.27)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import CrossAttention, SelfAttention
from .layers import FiLM, group_norm, zero_init


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """GroupNorm, SiLU, conv, [FiLM from the conditioning vector], GroupNorm, SiLU, conv; 1x1 shortcut if needed.

    With cond_dim the block is ADM's (scale-shift norm); without, it is the Efficient U-Net ResNetBlock (Fig. A.27).
    """

    def __init__(self, c_in: int, c_out: int, max_groups: int, cond_dim: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(c_in, max_groups)
        self.conv1 = conv3x3(c_in, c_out)
        self.norm2 = group_norm(c_out, max_groups)
        self.film = FiLM(cond_dim, c_out) if cond_dim else None
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.conv2 = zero_init(conv3x3(c_out, c_out))
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h)
        if self.film is not None:
            h = self.film(h, emb)
        return self.shortcut(x) + self.conv2(self.dropout(F.silu(h)))


class Attention(nn.Module):
    """Optional self-attention followed by optional text cross-attention at one resolution."""

    def __init__(self, channels: int, text_dim: int, head_dim: int, max_groups: int, self_attn: bool, cross: bool,
                 query_positions: bool = False):
        super().__init__()
        self.self_attn = SelfAttention(channels, head_dim, max_groups) if self_attn else None
        self.cross_attn = CrossAttention(channels, text_dim, head_dim, max_groups, query_positions) if cross else None

    def forward(self, x: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        if self.self_attn is not None:
            x = self.self_attn(x)
        if self.cross_attn is not None:
            x = self.cross_attn(x, text, text_mask)
        return x


class Downsample(nn.Module):
    """Strided 3x3 conv, halving the resolution."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = conv3x3(c_in, c_out, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """1x1 conv to 4x channels then pixel shuffle (Shi et al. 2016), initialised to nearest-neighbour (ICNR)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 1)
        weight = torch.empty(c_out, c_in, 1, 1, device=self.conv.weight.device)
        nn.init.kaiming_uniform_(weight, a=5 ** 0.5)
        with torch.no_grad():
            self.conv.weight.copy_(weight.repeat_interleave(4, dim=0))
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)
