"""Self-attention, masked text cross-attention and masked attention pooling, all through SDPA (Imagen Sec. 2.4)."""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .layers import group_norm, pixel_centres, small_normal, zero_init


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """[b, n, heads*d] -> [b, heads, n, d] (a view)."""
    b, n, _ = x.shape
    return x.view(b, n, heads, -1).transpose(1, 2)


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """[b, c, h, w] -> [b, h*w, c]; a free view when x is channels_last."""
    return x.flatten(2).transpose(1, 2)


def _image(tokens: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """[b, h*w, c] -> [b, c, h, w] laid out channels_last (a view)."""
    return tokens.transpose(1, 2).unflatten(2, like.shape[2:])


def text_keys_values(text: torch.Tensor, text_mask: torch.Tensor, to_kv: nn.Linear, null_kv: torch.Tensor,
                     heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keys/values of the text tokens plus one learned null token that is always attended.

    text [b, n, d], text_mask [b, n] bool (True = real token) -> k, v [b, heads, n+1, hd], mask [b, 1, 1, n+1].
    The null token keeps an all-masked (empty) prompt well defined: softmax never sees an empty set.
    """
    b = text.shape[0]
    kv = to_kv(text)                                                       # [b, n, 2*inner]
    kv = torch.cat([null_kv.to(kv.dtype).expand(b, 1, -1), kv], dim=1)     # [b, n+1, 2*inner]
    k, v = kv.chunk(2, dim=-1)
    mask = F.pad(text_mask.bool(), (1, 0), value=True)[:, None, None, :]
    return _heads(k, heads), _heads(v, heads), mask


MANUAL_MAX_SCORES = 256 * 256   # per (batch, head): above this the fused kernel's memory savings matter more


def softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None):
    """softmax(q k^T / sqrt(d)) v with matmuls in the input dtype and the softmax in fp32 (mask: True = attend)."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
    scores = scores.float()
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1).to(v.dtype) @ v


def multihead_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        mask: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-head attention [b, heads, n, d]. SDPA (fused flash / memory-efficient kernels), except for bf16/fp16 on
    CPU at short sequences, where torch's CPU flash kernel measured 3-5x slower (fwd+bwd) than two low-precision
    matmuls around an fp32 softmax (docs/benchmarks.md)."""
    low_precision_cpu = q.device.type == "cpu" and q.dtype in (torch.bfloat16, torch.float16)
    if low_precision_cpu and q.shape[-2] * k.shape[-2] <= MANUAL_MAX_SCORES:
        return softmax_attention(q, k, v, mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _no_autocast(device: torch.device):
    """Disable autocast (for fp32 softmax); the meta device has no autocast to disable."""
    return contextlib.nullcontext() if device.type == "meta" else torch.autocast(device.type, enabled=False)


class SelfAttention(nn.Module):
    """Multi-head self-attention over pixels, pre-GroupNorm, zero-init output (residual)."""

    def __init__(self, channels: int, head_dim: int, max_groups: int):
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.norm = group_norm(channels, max_groups)
        self.to_qkv = nn.Linear(channels, 3 * channels, bias=False)
        self.to_out = zero_init(nn.Linear(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (_heads(t, self.heads) for t in self.to_qkv(_tokens(self.norm(x))).chunk(3, dim=-1))
        out = multihead_attention(q, k, v)                                         # [b, heads, hw, hd]
        return x + _image(self.to_out(out.transpose(1, 2).flatten(2)), x)


POSITION_FREQUENCIES = 4   # sin/cos of pi * 2^k * x and y, k < 4: 16 features per pixel


def position_features(h: int, w: int, device, dtype) -> torch.Tensor:
    """[h*w, 4 * POSITION_FREQUENCIES] Fourier features of each pixel centre's (x, y) in [-1, 1]: the same map at
    every resolution, so a network trained on crops or another size still reads them as positions."""
    ys, xs = pixel_centres(h, device, dtype), pixel_centres(w, device, dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(h * w, 2)
    angles = grid[:, :, None] * (torch.pi * 2.0 ** torch.arange(POSITION_FREQUENCIES, device=device, dtype=dtype))
    return torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(1)


class CrossAttention(nn.Module):
    """Pixels attend to the text sequence (LayerNorm on text, padding masked, learned null key/value).

    With `query_positions` the queries also get a learned projection of each pixel's position (zero-initialised, so
    it starts as the plain layer): a word such as "left" can then be matched by the pixels where it applies, which
    a convolutional feature map only knows indirectly from its zero padding (docs/experiments.md, session 3)."""

    def __init__(self, channels: int, text_dim: int, head_dim: int, max_groups: int, query_positions: bool = False):
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.norm = group_norm(channels, max_groups)
        self.text_norm = nn.LayerNorm(text_dim)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_q_position = zero_init(nn.Linear(4 * POSITION_FREQUENCIES, channels, bias=False)) \
            if query_positions else None
        self.to_kv = nn.Linear(text_dim, 2 * channels, bias=False)
        self.null_kv = small_normal(2 * channels)
        self.to_out = zero_init(nn.Linear(channels, channels))

    def forward(self, x: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        q = self.to_q(_tokens(self.norm(x)))
        if self.to_q_position is not None:
            q = q + self.to_q_position(position_features(*x.shape[2:], x.device, q.dtype))
        q = _heads(q, self.heads)
        k, v, mask = text_keys_values(self.text_norm(text), text_mask, self.to_kv, self.null_kv, self.heads)
        out = multihead_attention(q, k.to(q.dtype), v.to(q.dtype), mask)
        return x + _image(self.to_out(out.transpose(1, 2).flatten(2)), x)


class TextPooling(nn.Module):
    """Masked attention pooling of the text sequence into one vector [b, cond_dim] (Imagen Sec. 2.4).

    A learned query attends (softmax in fp32) over LayerNormed tokens plus a null token.
    """

    def __init__(self, text_dim: int, cond_dim: int, head_dim: int):
        super().__init__()
        self.heads = max(1, cond_dim // head_dim)
        self.text_norm = nn.LayerNorm(text_dim)
        self.query = small_normal(cond_dim)
        self.to_kv = nn.Linear(text_dim, 2 * cond_dim, bias=False)
        self.null_kv = small_normal(2 * cond_dim)
        self.to_out = nn.Sequential(nn.LayerNorm(cond_dim), nn.Linear(cond_dim, cond_dim))

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        k, v, mask = text_keys_values(self.text_norm(text), text_mask, self.to_kv, self.null_kv, self.heads)
        q = _heads(self.query.expand(text.shape[0], 1, -1), self.heads)
        with _no_autocast(text.device):
            out = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask)
        return self.to_out(out.transpose(1, 2).flatten(1))
