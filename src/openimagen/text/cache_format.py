"""On-disk layout of the text-embedding cache: a manifest, and shards of trimmed fp16 embeddings with checksums.

```
out_dir/
  manifest.json                 encoder id, dim, max_length, caption count, shard size, hash of the caption list
  shard-00000.safetensors       "embeddings" [tokens, dim] fp16 (every caption's real tokens, concatenated),
                                "offsets" [count + 1] int64, "text_hashes" [count] int64
  shard-00000.json              sha256 + size of the shard file; written last, so its presence marks the shard done
```
Shard `s` holds captions `[s * shard_size, (s + 1) * shard_size)`. Every file is written to a temporary name and
moved into place with `os.replace`, so a killed run never leaves a half-written file under a final name.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import save

from openimagen.files import write_bytes_atomic, write_json_atomic

FORMAT = "openimagen-text-cache"
VERSION = 1
MANIFEST = "manifest.json"


class CacheError(RuntimeError):
    """The embedding cache is missing, incomplete, from another encoder, or corrupt; the message names the file."""


def text_hash(text: str) -> int:
    """A caption's key for lookup by text: the first 8 bytes of its UTF-8 SHA-256 as a signed int64."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little", signed=True)


def captions_digest(captions: list[str]) -> str:
    """SHA-256 of the whole caption list (order matters); a resumed run must see the same captions."""
    digest = hashlib.sha256()
    for caption in captions:
        digest.update(hashlib.sha256(caption.encode("utf-8")).digest())
    return digest.hexdigest()


def shard_path(out_dir: Path, shard: int) -> Path:
    return Path(out_dir) / f"shard-{shard:05d}.safetensors"


def shard_record_path(out_dir: Path, shard: int) -> Path:
    return Path(out_dir) / f"shard-{shard:05d}.json"


def write_json(path: Path, record: dict) -> None:
    write_json_atomic(path, record, fsync=True, indent=2, sort_keys=True)


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CacheError(f"cannot read {path} ({error}); delete it and rerun `openimagen encode`") from error


def write_shard(out_dir: Path, shard: int, embeddings: list[torch.Tensor], texts: list[str]) -> dict:
    """Store one shard: `[n_i, dim]` embeddings trimmed to real tokens, as fp16, with offsets and text hashes."""
    counts = torch.tensor([0] + [e.shape[0] for e in embeddings], dtype=torch.int64)
    for row, (e, text) in enumerate(zip(embeddings, texts)):
        if not torch.isfinite(e.to(torch.float16)).all():
            raise CacheError(f"caption {row} of shard {shard} ({text[:60]!r}) has non-finite embeddings in fp16; "
                             "encode in float32 or bfloat16 (T5 in float16 is known to overflow)")
    tensors = {
        "embeddings": torch.cat([e.to(torch.float16).cpu() for e in embeddings]).contiguous(),  # [tokens, dim]
        "offsets": torch.cumsum(counts, dim=0),                                                 # [count + 1]
        "text_hashes": torch.tensor([text_hash(t) for t in texts], dtype=torch.int64),          # [count]
    }
    data = save(tensors, metadata={"format": FORMAT})   # one key: safetensors orders metadata keys at random
    write_bytes_atomic(shard_path(out_dir, shard), data, fsync=True)
    record = {"shard": shard, "count": len(texts), "tokens": int(counts.sum()), "bytes": len(data),
              "sha256": hashlib.sha256(data).hexdigest()}
    write_json(shard_record_path(out_dir, shard), record)
    return record


def verify_shard(out_dir: Path, shard: int) -> dict:
    """The shard's record after checking the file's size and SHA-256 against it; `CacheError` names a bad shard."""
    path, record_path = shard_path(out_dir, shard), shard_record_path(out_dir, shard)
    if not record_path.is_file() or not path.is_file():
        raise CacheError(f"shard {path} is missing or unfinished; rerun `openimagen encode` to complete the cache")
    record = read_json(record_path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    if path.stat().st_size != record.get("bytes") or digest.hexdigest() != record.get("sha256"):
        raise CacheError(f"shard {path} is corrupt (its checksum does not match {record_path.name}); "
                         "delete both files and rerun `openimagen encode` to re-create it")
    return record
