"""A frozen pretrained language model that turns prompts into token embeddings (Imagen, Saharia et al. 2022, Sec. 2.1).

Imagen conditions every U-Net on the *sequence* of final-layer token embeddings of a frozen text-only language model
(T5-XXL in the paper; BERT and CLIP text encoders are compared in Sec. 4.4). This class wraps one such model and its
tokenizer behind `encode(texts) -> (emb [b, n, dim] float32, mask [b, n] bool)`.

The unconditional prompt: a blank prompt (`""`, or only whitespace) has **zero real tokens**: its mask row is all
False and its embedding row all zeros, for every encoder. Classifier-free guidance drops the conditioning (Imagen
Sec. 2.3); zero tokens drop it entirely instead of feeding the encoder's encoding of `[CLS][SEP]` or `</s>`.
"""

from __future__ import annotations

import warnings

import torch


class TruncationWarning(UserWarning):
    """Some prompts of a batch were longer than `max_length` tokens and were cut."""


class TextEncoder:
    """Frozen tokenizer + encoder; `encode` runs under `torch.inference_mode` in eval mode, without gradients."""

    def __init__(self, model, tokenizer, *, name: str, name_or_path: str, fingerprint: str, max_length: int,
                 layers: tuple[int, ...] = (-1,)):
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        layers = tuple(layers)
        count = _hidden_state_count(model)
        if not layers or any(not isinstance(i, int) or not -count <= i < count for i in layers):
            raise ValueError(f"text encoder layers must be a non-empty list of hidden-state indices in "
                             f"[{-count}, {count - 1}] (0 = the input word embeddings, -1 = the final layer), "
                             f"got {list(layers)}")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "right"      # real tokens first: the cache trims rows to their prefix
        self.name = name                           # e.g. "all-MiniLM-L6-v2", "google/t5-v1_1-xxl", a folder name
        self.name_or_path = name_or_path           # what the caller passed (None for the default)
        self.fingerprint = fingerprint             # hash of the weights, config and tokenizer files
        self.max_length = max_length               # real tokens per prompt, special tokens included
        self.layers = layers                       # hidden states concatenated per token; (-1,) = final layer

    @property
    def dim(self) -> int:
        """Width of one token embedding (384 for MiniLM, 4096 for T5-XXL; times the number of `layers`)."""
        width = self.model.config.hidden_size if hasattr(self.model.config, "hidden_size") \
            else self.model.config.d_model
        return int(width) * len(self.layers)

    @property
    def id(self) -> str:
        """Stable cache key: name, weights fingerprint, max_length (and the layers when not the final one alone).
        The compute dtype is not part of it."""
        return f"{self.name}@{self.fingerprint}:len{self.max_length}{layers_tag(self.layers)}"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def __repr__(self) -> str:
        return f"TextEncoder(id={self.id!r}, dim={self.dim}, device={self.device}, dtype={self.dtype})"

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """`(input_ids [b, n], attention_mask [b, n])`, right-padded, cut to `max_length` (warns with the count)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("encode expects a list of strings; wrap a single prompt as [prompt]")
        if len(texts) == 0:
            raise ValueError("encode got an empty list of prompts")
        probe = self.tokenizer(list(texts), truncation=True, max_length=self.max_length + 1)["input_ids"]
        cut = sum(len(ids) > self.max_length for ids in probe)
        if cut:
            warnings.warn(f"{cut} of {len(texts)} prompts were longer than max_length={self.max_length} tokens "
                          f"and were truncated ({self.name})", TruncationWarning, stacklevel=3)
        batch = self.tokenizer(list(texts), padding="longest", truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        return batch["input_ids"], batch["attention_mask"].bool()

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts -> `(emb [b, n, dim] float32, mask [b, n] bool)` on the encoder's device; padding rows are zero.

        `n` is the longest prompt's real token count (at least 1). Blank prompts have an all-False mask row.
        """
        input_ids, attention = self.tokenize(texts)
        with torch.inference_mode():   # the model sees the tokenizer's mask: an all-masked row could give NaN
            out = self.model(input_ids=input_ids.to(self.device), attention_mask=attention.long().to(self.device),
                             output_hidden_states=self.layers != (-1,))
            hidden = out.last_hidden_state if self.layers == (-1,) \
                else torch.cat([out.hidden_states[i] for i in self.layers], dim=-1)
        blank = torch.tensor([t.strip() == "" for t in texts])
        mask = (attention & ~blank[:, None]).to(self.device)
        length = max(1, int(mask.sum(dim=1).max()))
        mask = mask[:, :length].clone()
        # Outside inference mode, so the result is an ordinary tensor that a training graph may use.
        emb = hidden[:, :length].float() * mask[:, :, None]
        return emb, mask


LAYERS_TAG = ":layers"


def layers_tag(layers) -> str:
    """The part of an encoder id that names its hidden states: "" for the final layer alone (Imagen's default)."""
    return "" if tuple(layers) == (-1,) else LAYERS_TAG + ",".join(map(str, layers))


def layers_tag_of(encoder_id: str) -> str:
    return encoder_id[encoder_id.index(LAYERS_TAG):] if LAYERS_TAG in encoder_id else ""


def layers_of(encoder_id: str) -> list[int]:
    tag = layers_tag_of(encoder_id)
    return [int(i) for i in tag[len(LAYERS_TAG):].split(",")] if tag else [-1]


def _hidden_state_count(model) -> int:
    """Hidden states a model returns with output_hidden_states: the input embeddings plus one per layer."""
    config = model.config
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", None)
    return int(layers) + 1 if layers else 1
