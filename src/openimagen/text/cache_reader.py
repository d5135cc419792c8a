"""Random access to a text-embedding cache written by `encode_captions`: by caption index or by caption text.

Shards are memory-mapped through `safetensors.safe_open`, so reading one caption touches only its own bytes. Each
shard's checksum is verified the first time the shard is opened; a corrupt shard raises `CacheError` naming it.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from openimagen.text import cache_format as fmt
from openimagen.text.padding import pad_embeddings


class EmbeddingCache:
    """`cache[i] -> [n_i, dim]` fp16 embedding of caption `i` (its real tokens only; `n_i` may be 0).

    `expected_encoder_id` (e.g. `encoder.id`) refuses a cache made by another encoder or max_length.
    """

    def __init__(self, out_dir: str | Path, verify: bool = True, max_open_shards: int = 64,
                 expected_encoder_id: str | None = None):
        self.out_dir = Path(out_dir)
        manifest_path = self.out_dir / fmt.MANIFEST
        if not manifest_path.is_file():
            raise fmt.CacheError(f"{self.out_dir} is not a text-embedding cache (no {fmt.MANIFEST}); "
                                 "create it with `openimagen encode CAPTIONS OUT_DIR`")
        self.manifest = fmt.read_json(manifest_path)
        if self.manifest.get("format") != fmt.FORMAT or self.manifest.get("version") != fmt.VERSION:
            raise fmt.CacheError(f"{manifest_path} is not a version-{fmt.VERSION} {fmt.FORMAT} manifest")
        if expected_encoder_id is not None and self.manifest.get("encoder_id") != expected_encoder_id:
            raise fmt.CacheError(f"cache {self.out_dir} holds embeddings of {self.manifest.get('encoder_id')!r}, "
                                 f"not of {expected_encoder_id!r}; encode the captions again with this encoder")
        missing = [s for s in range(self.num_shards) if not fmt.shard_record_path(self.out_dir, s).is_file()]
        if missing:
            raise fmt.CacheError(f"cache {self.out_dir} is incomplete: {len(missing)} of {self.num_shards} shards "
                                 f"are missing (first: {fmt.shard_path(self.out_dir, missing[0]).name}); "
                                 "rerun `openimagen encode` with the same arguments to finish it")
        self.verify = verify
        self.max_open_shards = max_open_shards
        self._open: OrderedDict[int, tuple] = OrderedDict()   # shard -> (safe_open handle, offsets list)
        self._verified: set[int] = set()
        self._hash_order: tuple[np.ndarray, np.ndarray] | None = None

    encoder_id = property(lambda self: self.manifest["encoder_id"], doc="`TextEncoder.id` of the encoder used.")
    dim = property(lambda self: self.manifest["dim"])
    max_length = property(lambda self: self.manifest["max_length"])
    shard_size = property(lambda self: self.manifest["shard_size"])
    num_shards = property(lambda self: self.manifest["num_shards"])

    def __len__(self) -> int:
        return self.manifest["num_captions"]

    def __getitem__(self, index: int) -> torch.Tensor:
        index = operator.index(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"caption index {index} out of range for a cache of {len(self)} captions")
        index %= len(self)
        handle, offsets = self._shard(index // self.shard_size)
        row = index % self.shard_size
        return handle.get_slice("embeddings")[offsets[row]:offsets[row + 1]]    # [n_i, dim] fp16

    def batch(self, indices: list[int], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`(emb [b, n, dim] fp16, mask [b, n] bool)` for several captions, padded with `pad_embeddings`."""
        return pad_embeddings([self[i] for i in indices], length)

    def index_of(self, text: str) -> int:
        """Index of a caption with exactly this text; `KeyError` if the cache has none."""
        hashes, order = self._hashes()
        key = fmt.text_hash(text)
        position = int(np.searchsorted(hashes, key))
        if position == len(hashes) or hashes[position] != key:
            raise KeyError(f"caption {text[:60]!r} is not in the cache {self.out_dir}")
        return int(order[position])

    def get_by_text(self, text: str) -> torch.Tensor:
        """The `[n, dim]` fp16 embedding of a caption, looked up by its exact text (via a SHA-256 key)."""
        return self[self.index_of(text)]

    def verify_all(self) -> None:
        """Check every shard's checksum now (otherwise each is checked when first read)."""
        for shard in range(self.num_shards):
            self._shard(shard)

    def __getstate__(self) -> dict:
        """For DataLoader workers: open file handles stay behind; each worker reopens (mmap) what it reads."""
        return {**self.__dict__, "_open": OrderedDict()}

    def _shard(self, shard: int):
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        if self.verify and shard not in self._verified:
            fmt.verify_shard(self.out_dir, shard)
            self._verified.add(shard)
        handle = safe_open(str(fmt.shard_path(self.out_dir, shard)), framework="pt")
        entry = (handle, handle.get_tensor("offsets").tolist())
        self._open[shard] = entry
        if len(self._open) > self.max_open_shards:
            self._open.popitem(last=False)
        return entry

    def _hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """All captions' text hashes, sorted, with the caption index of each (built on first lookup by text)."""
        if self._hash_order is None:
            hashes = np.concatenate([self._shard(s)[0].get_tensor("text_hashes").numpy()
                                     for s in range(self.num_shards)] or [np.zeros(0, np.int64)])
            order = np.argsort(hashes, kind="stable")
            self._hash_order = (hashes[order], order)
        return self._hash_order
