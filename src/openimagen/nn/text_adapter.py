"""Trainable transformer layers over the frozen encoder's tokens, with token positions (an optional addition).

Imagen conditions on the frozen encoder's token sequence directly (Sec. 2.1). A small sentence encoder such as
MiniLM barely encodes word order in its last layer ("a red circle above a blue square" and "a blue square above a
red circle" give each word's token a cosine similarity of 0.94-0.99 across the two orders), so a few layers that
see token positions let the network tell which object a relation word binds to. The encoder stays frozen.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import small_normal

MAX_TOKENS = 512


class TextAdapter(nn.Module):
    """(text [b, n, text_dim], mask [b, n]) -> (tokens [b, n+1, width], mask [b, n+1]), or with `residual`
    (text + delta [b, n, text_dim], mask).

    LayerNorm + linear projection, learned position embeddings, `layers` pre-LN transformer layers over the real
    tokens plus one learned always-attended token (so an empty prompt stays defined), final LayerNorm. The residual
    form adds a projection of the result back onto the encoder's tokens through a tanh gate that starts at 0 (as in
    Flamingo's gated cross-attention: it opens at the optimizer's pace, not all at once). It starts as the identity
    (the network sees exactly the frozen encoder's tokens) and can be added to a trained network.
    """

    def __init__(self, text_dim: int, width: int, layers: int, head_dim: int, residual: bool = False):
        super().__init__()
        self.norm_in = nn.LayerNorm(text_dim)
        self.proj = nn.Linear(text_dim, width)
        self.positions = small_normal(MAX_TOKENS, width)
        self.register = small_normal(width)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(width, max(1, width // head_dim), 2 * width, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True) for _ in range(layers))
        self.norm_out = nn.LayerNorm(width)
        self.delta = nn.Linear(width, text_dim) if residual else None
        self.gate = nn.Parameter(torch.zeros(())) if residual else None   # tanh-gated, 0 at first (Flamingo)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, _ = text.shape
        if n > MAX_TOKENS:
            raise ValueError(f"the text adapter takes at most {MAX_TOKENS} tokens, got {n}")
        h = self.proj(self.norm_in(text)) + self.positions[:n].to(text.dtype)
        h = torch.cat([self.register.to(h.dtype).expand(b, 1, -1), h], dim=1)
        mask = F.pad(text_mask.bool(), (1, 0), value=True)
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=~mask)
        h = self.norm_out(h)
        if self.delta is not None:
            return text + self.gate.tanh().to(h.dtype) * self.delta(h[:, 1:]), text_mask
        return h, mask
