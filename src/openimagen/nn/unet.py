"""Imagen's base U-Net: ADM layout with pooled-text and cross-attention conditioning (Imagen Sec. 2.4, App. B)."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import Attention, Downsample, ResBlock, Upsample
from .conditioning import Conditioning
from .config import UNetConfig
from .layers import group_norm, maybe_checkpoint, zero_init


class UNetBlock(nn.Module):
    """One ADM residual block (scale-shift conditioning), then optional self- and cross-attention."""

    def __init__(self, c_in: int, c_out: int, config: UNetConfig, self_attn: bool, cross_attn: bool):
        super().__init__()
        self.res = ResBlock(c_in, c_out, config.num_groups, config.cond_width, config.dropout)
        has_attn = self_attn or cross_attn
        self.attn = Attention(c_out, config.text_features, config.head_dim, config.num_groups, self_attn, cross_attn,
                              config.query_positions) \
            if has_attn else None

    def forward(self, x, emb, text, text_mask):
        x = self.res(x, emb)
        return x if self.attn is None else self.attn(x, text, text_mask)


class UNet(nn.Module):
    """net(x, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None, inpaint=None, self_cond=None) -> tensor
    of x's shape."""

    _no_split_modules = ["ResBlock"]   # FSDP units under TRANSFORMER_BASED_WRAP (docs/training.md, "FSDP")

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        self.cond = Conditioning(config)
        chans = config.channels()
        self.input_conv = nn.Conv2d(self.cond.input_channels(), chans[0], 3, padding=1)
        self.down, skip_chans, ch = nn.ModuleList(), [chans[0]], chans[0]
        for level, c in enumerate(chans):
            for _ in range(config.num_res_blocks[level]):
                self.down.append(self._block(ch, c, level))
                ch = c
                skip_chans.append(ch)
            if level < len(chans) - 1:
                self.down.append(Downsample(ch, ch))
                skip_chans.append(ch)
        self.middle = nn.ModuleList([
            UNetBlock(ch, ch, config, config.middle_attn, config.middle_attn),
            UNetBlock(ch, ch, config, False, False)])
        self.up = nn.ModuleList()
        for level in reversed(range(len(chans))):
            for _ in range(config.num_res_blocks[level] + 1):
                self.up.append(self._block(ch + skip_chans.pop(), chans[level], level))
                ch = chans[level]
            if level > 0:
                self.up.append(Upsample(ch, ch))
        self.out = nn.Sequential(group_norm(ch, config.num_groups), nn.SiLU(),
                                 zero_init(nn.Conv2d(ch, config.out_channels, 3, padding=1)))

    def _block(self, c_in: int, c_out: int, level: int) -> UNetBlock:
        c = self.config
        return UNetBlock(c_in, c_out, c, c.self_attn_levels[level], c.cross_attn_levels[level])

    def forward(self, x, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None, inpaint=None, self_cond=None):
        h, emb, text_emb, text_mask = self.cond(x, log_snr, text_emb, text_mask, lowres, aug_log_snr, inpaint,
                                                self_cond)
        if self.input_conv.weight.is_contiguous(memory_format=torch.channels_last):
            h = h.contiguous(memory_format=torch.channels_last)
        ckpt = self.config.gradient_checkpointing and self.training
        h = self.input_conv(h)
        skips = [h]
        for block in self.down:
            h = block(h) if isinstance(block, Downsample) else maybe_checkpoint(ckpt, block, h, emb, text_emb, text_mask)
            skips.append(h)
        for block in self.middle:
            h = maybe_checkpoint(ckpt, block, h, emb, text_emb, text_mask)
        for block in self.up:
            if isinstance(block, Upsample):
                h = block(h)
            else:
                h = maybe_checkpoint(ckpt, block, torch.cat([h, skips.pop()], dim=1), emb, text_emb, text_mask)
        return self.out(h).to(x.dtype)
