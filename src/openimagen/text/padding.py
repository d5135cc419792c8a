"""Batching variable-length text embeddings: pad a list to `(emb, mask)` and trim a batch back to a list.

Convention (docs/architecture.md): `mask` is `True` on real tokens; padding rows of `emb` are zero. A batch always has
at least one token position, so an all-unconditional batch is `[b, 1, dim]` with an all-False mask.
"""

from __future__ import annotations

import torch


def pad_embeddings(embeddings: list[torch.Tensor], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad `[n_i, dim]` tensors to `(emb [b, length, dim], mask [b, length] bool)`, keeping their dtype.

    `length=None` uses the longest entry (at least 1). Used to batch cached embeddings and to bring the conditional
    and unconditional text of classifier-free guidance to the same token length.
    """
    if isinstance(embeddings, torch.Tensor) or not all(isinstance(e, torch.Tensor) for e in embeddings):
        got = type(embeddings).__name__ if isinstance(embeddings, (torch.Tensor, str)) else \
            f"a list holding a {next(type(e).__name__ for e in embeddings if not isinstance(e, torch.Tensor))}"
        raise TypeError(f"pad_embeddings: expected a list of [tokens, dim] tensors, got {got}")
    if len(embeddings) == 0:
        raise ValueError("pad_embeddings: got an empty list; pass at least one [tokens, dim] tensor")
    dims = {tuple(e.shape[1:]) for e in embeddings}
    if any(e.dim() != 2 for e in embeddings) or len(dims) != 1:
        shapes = [tuple(e.shape) for e in embeddings]
        raise ValueError(f"pad_embeddings: expected [tokens, dim] tensors with one common dim, got shapes {shapes}")
    longest = max(e.shape[0] for e in embeddings)
    if length is None:
        length = max(longest, 1)
    if length < longest:
        raise ValueError(f"pad_embeddings: length={length} is shorter than the longest entry ({longest} tokens); "
                         "pass length=None or a larger length")
    first = embeddings[0]
    emb = first.new_zeros(len(embeddings), length, first.shape[1])
    mask = torch.zeros(len(embeddings), length, dtype=torch.bool, device=first.device)
    for row, e in enumerate(embeddings):
        emb[row, : e.shape[0]] = e
        mask[row, : e.shape[0]] = True
    return emb, mask


def unbatch_embeddings(emb: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of `pad_embeddings`: `[b, n, dim]` + `[b, n]` -> list of `[n_i, dim]` (real tokens must come first)."""
    if emb.dim() != 3 or mask.shape != emb.shape[:2]:
        raise ValueError(f"unbatch_embeddings: expected emb [b, n, dim] and mask [b, n], "
                         f"got {tuple(emb.shape)} and {tuple(mask.shape)}")
    counts = mask.sum(dim=1)
    out = []
    for row, count in enumerate(counts.tolist()):
        if not bool(mask[row, :count].all()):
            raise ValueError(f"unbatch_embeddings: row {row} has padding before real tokens (left padding?)")
        out.append(emb[row, :count])
    return out


def pad_batch(emb: torch.Tensor, mask: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad a batch `(emb [b, n, dim], mask [b, n])` with zeros / False to `length >= n` token positions."""
    extra = length - emb.shape[1]
    if extra < 0:
        raise ValueError(f"pad_batch: length={length} is shorter than the batch's {emb.shape[1]} token positions")
    emb = torch.nn.functional.pad(emb, (0, 0, 0, extra))
    mask = torch.nn.functional.pad(mask, (0, extra), value=False)
    return emb, mask
