"""Captions -> (text_emb, text_mask): from the embedding cache when it has the caption, else the frozen encoder."""

from __future__ import annotations

import logging
from typing import Any, Callable

import torch

from openimagen.text import CacheError, EmbeddingCache, pad_embeddings

__all__ = ["TextEmbedder", "prompt_list"]

logger = logging.getLogger(__name__)

HIT_RATE_WINDOW = 256        # captions looked up before the cache's hit rate is judged (once)
LOW_HIT_RATE = 0.5           # below this, most captions pay an encoder forward: say so


def prompt_list(prompts: Any, name: str = "prompts") -> list[str]:
    """A prompt or a sequence of prompts -> a non-empty list of str; a TypeError / ValueError naming `name` else."""
    if isinstance(prompts, str):
        return [prompts]
    if isinstance(prompts, (bytes, dict)) or not hasattr(prompts, "__iter__"):
        raise TypeError(f"{name} must be a str or a list of str, got {type(prompts).__name__}")
    prompts = list(prompts)
    wrong = [type(p).__name__ for p in prompts if not isinstance(p, str)]
    if wrong:
        raise TypeError(f"{name} must be a str or a list of str, got a list item of type {wrong[0]}")
    if not prompts:
        raise ValueError(f"{name} is an empty list; give at least one prompt ('' samples unconditionally)")
    for index, prompt in enumerate(prompts):
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"{name}[{index}] is not text: it holds the lone surrogate {prompt[error.start]!r} at "
                             f"character {error.start} (was it read with errors='surrogateescape'?)") from None
    return prompts


class TextEmbedder:
    """Blank prompts get zero tokens (the unconditional prompt, docs/architecture.md) without any forward pass;
    cached captions are read from the cache; the rest go through the encoder, loaded on first need.

    `max_length` (the cascade's `max_text_length`) must equal the cache's, checked at construction: a cache encoded
    at another length would condition training on other embeddings than sampling sees."""

    def __init__(self, load_encoder: Callable[[], object] | None = None, cache: EmbeddingCache | None = None,
                 encoder: object | None = None, max_length: int | None = None) -> None:
        if encoder is None and load_encoder is None and cache is None:
            raise ValueError("TextEmbedder needs an encoder, a loader or an embedding cache")
        if cache is not None and max_length is not None and cache.max_length != max_length:
            raise CacheError(f"the embedding cache {cache.out_dir} was encoded with --max-length {cache.max_length}, "
                             f"but the cascade reads {max_length} tokens (cascade.max_text_length); re-encode with "
                             f"`openimagen encode CAPTIONS {cache.out_dir} --max-length {max_length}` into a new "
                             f"folder, or set cascade.max_text_length = {cache.max_length}")
        self._load, self._encoder, self.cache = load_encoder, encoder, cache
        self.encoder_forwards = 0  # how many captions went through the encoder (for tests and logs)
        self.cache_hits = 0
        self._hit_rate_judged = False

    @property
    def encoder(self):
        if self._encoder is None:
            if self._load is None:
                raise KeyError("a caption is not in the embedding cache and no text encoder was given")
            self._encoder = self._load()
            if self.cache is not None and self.cache.encoder_id != self._encoder.id:
                raise ValueError(f"the embedding cache {self.cache.out_dir} was written by {self.cache.encoder_id}, "
                                 f"but the cascade's text encoder is {self._encoder.id}; re-encode the captions "
                                 "with `openimagen encode` (--encoder, --max-length, --layers) or set cascade.text_encoder "
                                 "and cascade.text_encoder_layers to match")
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

    def _judge_hit_rate(self) -> None:
        """Once, after HIT_RATE_WINDOW captions: warn when most captions miss the cache (18 vs 234 img/s)."""
        looked_up = self.cache_hits + self.encoder_forwards
        if self.cache is None or self._hit_rate_judged or looked_up < HIT_RATE_WINDOW:
            return
        self._hit_rate_judged = True
        if self.cache_hits < LOW_HIT_RATE * looked_up:
            logger.warning(f"only {self.cache_hits} of the first {looked_up} captions were found in the embedding "
                           f"cache {self.cache.out_dir}; the others run the text encoder every step (slow). Was the "
                           "cache encoded from this data's captions? (`openimagen encode CAPTIONS OUT_DIR`)")

    def __call__(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """`(emb [b, n, dim] float32, mask [b, n] bool)`, padded to the longest caption."""
        if isinstance(captions, str):
            raise TypeError(f"captions must be a list of str, got a str; wrap it: [{captions[:40]!r}]")
        captions = prompt_list(captions, "captions")
        rows: list[torch.Tensor | None] = [torch.zeros(0, self.dim) if not c.strip() else self._cached(c)
                                           for c in captions]
        missing = [i for i, row in enumerate(rows) if row is None]
        self.cache_hits += sum(1 for c in captions if c.strip()) - len(missing)
        if missing:
            emb, mask = self.encoder.encode([captions[i] for i in missing])
            self.encoder_forwards += len(missing)
            for row, i in enumerate(missing):
                rows[i] = emb[row][mask[row]].float().cpu()
        self._judge_hit_rate()
        return pad_embeddings(rows)
