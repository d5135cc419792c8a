"""Imagen's Efficient U-Net for super-resolution (Imagen Sec. 2.5, App. B.1, Figs. A.27-A.30).

DBlock: downsample FIRST, combine embeddings, residual blocks, optional attention.
UBlock: combine embeddings, residual blocks (with the DBlock's skip scaled by 1/sqrt(2)), optional attention,
upsample LAST. Most residual blocks sit at low resolution, where they are cheap.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import Attention, Downsample, ResBlock, Upsample
from .conditioning import Conditioning
from .config import EfficientUNetConfig
from .layers import FiLM, group_norm, maybe_checkpoint, zero_init

SKIP_SCALE = 2 ** -0.5


def _attentions(channels: int, config: EfficientUNetConfig, level: int, num_res: int) -> nn.ModuleList:
    self_attn, cross = config.self_attn_levels[level], config.cross_attn_levels[level]
    count = (num_res if config.attn_every_res_block else 1) if (self_attn or cross) else 0
    return nn.ModuleList(Attention(channels, config.text_features, config.head_dim, config.num_groups, self_attn, cross,
                                   config.query_positions)
                         for _ in range(count))


def _res_and_attn(x, res_blocks, attns, text, text_mask, every: bool):
    """Residual blocks, with attention after each (every=True) or once after the last."""
    for i, res in enumerate(res_blocks):
        x = res(x)
        if every and attns:
            x = attns[i](x, text, text_mask)
    if not every and attns:
        x = attns[0](x, text, text_mask)
    return x


class DBlock(nn.Module):
    """Strided-conv downsample, CombineEmbs (FiLM), num_res ResNetBlocks, optional attention (Fig. A.28)."""

    def __init__(self, c_in: int, c_out: int, config: EfficientUNetConfig, level: int):
        super().__init__()
        n = config.num_res_blocks[level]
        self.every = config.attn_every_res_block
        self.down = Downsample(c_in, c_out)
        self.combine = FiLM(config.cond_width, c_out)
        self.res = nn.ModuleList(ResBlock(c_out, c_out, config.num_groups, dropout=config.dropout) for _ in range(n))
        self.attn = _attentions(c_out, config, level, n)

    def forward(self, x, emb, text, text_mask):
        x = self.combine(self.down(x), emb)
        return _res_and_attn(x, self.res, self.attn, text, text_mask, self.every)


class UBlock(nn.Module):
    """CombineEmbs, ResNetBlocks (the first takes the scaled skip), optional attention, upsample (Fig. A.29)."""

    def __init__(self, c_in: int, c_skip: int, c_out: int, c_next: int, config: EfficientUNetConfig, level: int):
        super().__init__()
        n = max(1, config.num_res_blocks[level])
        self.every = config.attn_every_res_block
        self.combine = FiLM(config.cond_width, c_in)
        chans = [c_in + c_skip] + [c_out] * n
        self.res = nn.ModuleList(ResBlock(chans[i], c_out, config.num_groups, dropout=config.dropout) for i in range(n))
        self.attn = _attentions(c_out, config, level, n)
        self.up = Upsample(c_out, c_next)

    def forward(self, x, skip, emb, text, text_mask):
        x = torch.cat([self.combine(x, emb), skip * SKIP_SCALE], dim=1)
        return self.up(_res_and_attn(x, self.res, self.attn, text, text_mask, self.every))


class EfficientUNet(nn.Module):
    """net(x, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None, inpaint=None, self_cond=None) -> tensor
    of x's shape."""

    _no_split_modules = ["ResBlock"]   # FSDP units under TRANSFORMER_BASED_WRAP (docs/training.md, "FSDP")

    def __init__(self, config: EfficientUNetConfig):
        super().__init__()
        self.config = config
        self.cond = Conditioning(config)
        chans = config.channels()
        base = config.base_channels
        self.input_conv = nn.Conv2d(self.cond.input_channels(), base, 3, padding=1)
        ins = [base] + chans[:-1]
        self.down = nn.ModuleList(DBlock(ins[i], chans[i], config, i) for i in range(len(chans)))
        self.up = nn.ModuleList(UBlock(chans[i], chans[i], chans[i], ins[i], config, i)
                                for i in reversed(range(len(chans))))
        self.out = nn.Sequential(group_norm(2 * base, config.num_groups), nn.SiLU(),
                                 zero_init(nn.Conv2d(2 * base, config.out_channels, 3, padding=1)))

    def forward(self, x, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None, inpaint=None, self_cond=None):
        h, emb, text_emb, text_mask = self.cond(x, log_snr, text_emb, text_mask, lowres, aug_log_snr, inpaint,
                                                self_cond)
        if self.input_conv.weight.is_contiguous(memory_format=torch.channels_last):
            h = h.contiguous(memory_format=torch.channels_last)
        ckpt = self.config.gradient_checkpointing and self.training
        first = self.input_conv(h)
        h, skips = first, []
        for block in self.down:
            h = maybe_checkpoint(ckpt, block, h, emb, text_emb, text_mask)
            skips.append(h)
        for block in self.up:
            h = maybe_checkpoint(ckpt, block, h, skips.pop(), emb, text_emb, text_mask)
        return self.out(torch.cat([h, first * SKIP_SCALE], dim=1)).to(x.dtype)
