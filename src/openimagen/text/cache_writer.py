"""Encode a caption list once with a frozen encoder and store the embeddings as a sharded, resumable cache.

Frozen text encoders are the point of Imagen (Sec. 2.1): their outputs never change, so they are computed once,
offline, and reused by every epoch and every stage. Layout and integrity rules: `cache_format.py`.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from openimagen.text import cache_format as fmt
from openimagen.text.padding import unbatch_embeddings


@dataclasses.dataclass(frozen=True)
class EncodeResult:
    """What one `encode_captions` call did (for this rank)."""

    out_dir: Path
    shards_written: int       # encoded and stored by this call
    shards_skipped: int       # already complete and verified (a resumed run)
    captions_encoded: int


def encode_captions(captions: list[str], encoder, out_dir: str | Path, shard_size: int = 4096, rank: int = 0,
                    world_size: int = 1, batch_size: int = 64, progress: bool = True) -> EncodeResult:
    """Embed `captions` with `encoder` (a `TextEncoder`) into `out_dir`; this process does shards `rank::world_size`.

    Resumable: shards that exist and pass their checksum are skipped, so rerunning after a crash (or a kill)
    continues from the last complete shard and yields the same files as one uninterrupted run.
    """
    _check_arguments(captions, shard_size, rank, world_size, batch_size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    num_shards = -(-len(captions) // shard_size)
    _claim_manifest(out_dir, {
        "format": fmt.FORMAT, "version": fmt.VERSION, "encoder_id": encoder.id, "dim": encoder.dim,
        "max_length": encoder.max_length, "dtype": "float16", "num_captions": len(captions),
        "shard_size": shard_size, "num_shards": num_shards, "captions_sha256": fmt.captions_digest(captions)})
    mine = range(rank, num_shards, world_size)
    todo = [shard for shard in mine if not _shard_complete(out_dir, shard)]
    total = sum(len(captions[s * shard_size:(s + 1) * shard_size]) for s in mine)
    done = total - sum(len(captions[s * shard_size:(s + 1) * shard_size]) for s in todo)
    encoded = 0
    with tqdm(total=total, initial=done, unit="caption", desc=f"encode rank {rank}/{world_size}",
              disable=not progress, smoothing=0.1) as bar:
        for shard in todo:
            texts = captions[shard * shard_size:(shard + 1) * shard_size]
            fmt.write_shard(out_dir, shard, _encode_by_length(encoder, texts, batch_size, bar.update), texts)
            encoded += len(texts)
    return EncodeResult(out_dir, len(todo), len(mine) - len(todo), encoded)


def _encode_by_length(encoder, texts: list[str], batch_size: int, progress) -> list:
    """`[n_i, dim]` per text, in order; batches group texts of similar length, so little compute goes to padding."""
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    embeddings = [None] * len(texts)
    for start in range(0, len(texts), batch_size):
        batch = order[start:start + batch_size]
        emb, mask = encoder.encode([texts[i] for i in batch])
        for i, row in zip(batch, unbatch_embeddings(emb.cpu(), mask.cpu())):
            embeddings[i] = row
        progress(len(batch))
    return embeddings


def _check_arguments(captions, shard_size: int, rank: int, world_size: int, batch_size: int) -> None:
    if isinstance(captions, str) or not all(isinstance(c, str) for c in captions):
        raise TypeError("encode_captions: captions must be a list of strings")
    if shard_size < 1 or batch_size < 1:
        raise ValueError(f"encode_captions: shard_size ({shard_size}) and batch_size ({batch_size}) must be >= 1")
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"encode_captions: need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")


def _claim_manifest(out_dir: Path, manifest: dict) -> None:
    """Write the manifest, or check that an existing one (an earlier or parallel run) describes the same job."""
    path = out_dir / fmt.MANIFEST
    if path.is_file():
        existing = fmt.read_json(path)
        for key, value in manifest.items():
            if existing.get(key) != value:
                raise fmt.CacheError(f"{path} was made with {key}={existing.get(key)!r}, this run has {value!r}; "
                                     "use another output folder (or delete this one) to start a new cache")
        return
    fmt.write_json(path, manifest)


def _shard_complete(out_dir: Path, shard: int) -> bool:
    """True if the shard is stored and intact; removes leftovers of an interrupted write of it."""
    for leftover in out_dir.glob(f".shard-{shard:05d}.*.tmp-*"):
        leftover.unlink(missing_ok=True)
    if not fmt.shard_record_path(out_dir, shard).is_file():
        return False
    try:
        fmt.verify_shard(out_dir, shard)
        return True
    except fmt.CacheError:
        warnings.warn(f"{fmt.shard_path(out_dir, shard)} is corrupt (it does not match "
                      f"{fmt.shard_record_path(out_dir, shard).name}); encoding it again", stacklevel=3)
        return False
