"""Captions -> (text_emb, text_mask): from the embedding cache when it has the caption, else the frozen encoder."""

from __future__ import annotations

from typing import Callable

import torch

from openimagen.text import EmbeddingCache, pad_embeddings

__all__ = ["TextEmbedder"]


class TextEmbedder:
    """Blank prompts get zero tokens (the unconditional prompt, docs/architecture.md) without any forward pass;
    cached captions are read from the cache; the rest go through the encoder, loaded on first need."""

    def __init__(self, load_encoder: Callable[[], object] | None = None, cache: EmbeddingCache | None = None,
                 encoder: object | None = None) -> None:
        if encoder is None and load_encoder is None and cache is None:
            raise ValueError("TextEmbedder needs an encoder, a loader or an embedding cache")
        self._load, self._encoder, self.cache = load_encoder, encoder, cache
        self.encoder_forwards = 0  # how many captions went through the encoder (for tests and logs)

    @property
    def encoder(self):
        if self._encoder is None:
            if self._load is None:
                raise KeyError("a caption is not in the embedding cache and no text encoder was given")
            self._encoder = self._load()
            if self.cache is not None and self.cache.encoder_id != self._encoder.id:
                raise ValueError(f"the embedding cache {self.cache.out_dir} was written by {self.cache.encoder_id}, "
                                 f"but the cascade's text encoder is {self._encoder.id}; re-encode the captions "
                                 "with `openimagen encode` or set cascade.text_encoder to match")
        return self._encoder

    @property
    def dim(self) -> int:
        return self.cache.dim if self.cache is not None else self.encoder.dim

    def _cached(self, caption: str) -> torch.Tensor | None:
        if self.cache is None:
            return None
        try:
            return self.cache.get_by_text(caption).float()
        except KeyError:
            return None

    def __call__(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """`(emb [b, n, dim] float32, mask [b, n] bool)`, padded to the longest caption."""
        rows: list[torch.Tensor | None] = [torch.zeros(0, self.dim) if not c.strip() else self._cached(c)
                                           for c in captions]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            emb, mask = self.encoder.encode([captions[i] for i in missing])
            self.encoder_forwards += len(missing)
            for row, i in enumerate(missing):
                rows[i] = emb[row][mask[row]].float().cpu()
        return pad_embeddings(rows)
