"""The on-disk embedding cache: round trip, kill-and-resume, corruption, sharding across ranks."""

import json
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from openimagen.text import CacheError, EmbeddingCache, encode_captions, load_encoder, unbatch_embeddings

CAPTIONS = ["a red circle", "", "two green triangles on a white background", "a crimson disk", "a red circle",
            "four blue squares", "a yellow star above a purple hexagon", "one small dot", "a big orange square",
            "three circles in a row, red, green and blue"]
SHARD, BATCH = 4, 3     # 3 shards (4 + 4 + 2 captions), batches that do not divide the shards


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("minilm", max_length=32)


@pytest.fixture(scope="module")
def cache_dir(encoder, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache")
    encode_captions(CAPTIONS, encoder, out, shard_size=SHARD, batch_size=BATCH, progress=False)
    return out


class Interrupted(Exception):
    pass


class CrashingEncoder:
    """Passes batches through to a real encoder and raises after `calls` batches: a run killed half way."""

    def __init__(self, encoder, calls):
        self.encoder, self.calls = encoder, calls
        self.id, self.dim, self.max_length = encoder.id, encoder.dim, encoder.max_length

    def encode(self, texts):
        if self.calls == 0:
            raise Interrupted
        self.calls -= 1
        return self.encoder.encode(texts)


def shard_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_round_trip_equals_direct_encoding_within_fp16(encoder, cache_dir):
    cache = EmbeddingCache(cache_dir)
    assert len(cache) == len(CAPTIONS) and cache.encoder_id == encoder.id and cache.dim == 384
    for index, expected in enumerate(unbatch_embeddings(*encoder.encode(CAPTIONS))):
        stored = cache[index]
        assert stored.dtype == torch.float16 and stored.shape == expected.shape
        torch.testing.assert_close(stored.float(), expected, atol=2e-3, rtol=1e-3)
    assert cache[1].shape == (0, 384)               # the empty caption stores no tokens
    assert torch.equal(cache[-1], cache[len(CAPTIONS) - 1])
    with pytest.raises(IndexError):
        cache[len(CAPTIONS)]


def test_lookup_by_text_finds_the_caption(cache_dir):
    cache = EmbeddingCache(cache_dir)
    assert cache.index_of("four blue squares") == 5 and cache.index_of("a red circle") == 0
    assert torch.equal(cache.get_by_text("one small dot"), cache[7])
    with pytest.raises(KeyError):
        cache.get_by_text("a caption that was never encoded")
    emb, mask = cache.batch([0, 1, 5])
    assert emb.shape[0] == 3 and mask.sum(1).tolist() == [len(cache[0]), 0, len(cache[5])]


def test_cache_reader_can_be_sent_to_dataloader_workers(cache_dir):
    cache = EmbeddingCache(cache_dir)
    first = cache[np.int64(9)]                    # opens a shard (an unpicklable handle) and takes numpy indices
    copy = pickle.loads(pickle.dumps(cache))      # what a spawned DataLoader worker receives (in memory only)
    assert torch.equal(copy[9], first) and copy.encoder_id == cache.encoder_id


def test_cache_stores_only_real_tokens_in_fp16(encoder, cache_dir):
    tokens = sum(json.loads((cache_dir / f"shard-{s:05d}.json").read_text())["tokens"] for s in range(3))
    assert tokens == sum(len(EmbeddingCache(cache_dir)[i]) for i in range(len(CAPTIONS)))
    stored = sum(p.stat().st_size for p in cache_dir.glob("*.safetensors"))
    assert stored < tokens * 384 * 2 + 3 * 1024     # embeddings + offsets/hashes/header overhead
    assert stored * 8 <= len(CAPTIONS) * encoder.max_length * 384 * 4


def test_killed_run_resumes_to_the_same_cache_as_one_run(encoder, cache_dir, tmp_path):
    with pytest.raises(Interrupted):            # shard 0 done, killed after the first batch of shard 1
        encode_captions(CAPTIONS, CrashingEncoder(encoder, calls=3), tmp_path, SHARD, batch_size=BATCH,
                        progress=False)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["manifest.json", "shard-00000.json"]
    (tmp_path / ".shard-00001.safetensors.tmp-99999").write_bytes(b"half a shard")   # left by a kill mid-write
    result = encode_captions(CAPTIONS, encoder, tmp_path, SHARD, batch_size=BATCH, progress=False)
    assert (result.shards_skipped, result.shards_written, result.captions_encoded) == (1, 2, 6)
    assert shard_bytes(tmp_path) == shard_bytes(cache_dir)


def test_flipped_byte_is_detected_and_names_the_shard(encoder, cache_dir, tmp_path):
    for name, data in shard_bytes(cache_dir).items():
        (tmp_path / name).write_bytes(data)
    shard = tmp_path / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0x01                             # one bit of one fp16 value
    shard.write_bytes(bytes(data))
    cache = EmbeddingCache(tmp_path)
    assert torch.equal(cache[0], EmbeddingCache(cache_dir)[0])       # other shards still readable
    with pytest.raises(CacheError, match="shard-00001.safetensors is corrupt"):
        cache[5]
    with pytest.warns(UserWarning, match="shard-00001.safetensors is corrupt .*; encoding it again"):   # repaired
        result = encode_captions(CAPTIONS, encoder, tmp_path, SHARD, batch_size=BATCH, progress=False)
    assert result.shards_written == 1 and shard_bytes(tmp_path) == shard_bytes(cache_dir)


def test_ranks_split_the_shards_and_together_equal_one_run(encoder, cache_dir, tmp_path):
    first = encode_captions(CAPTIONS, encoder, tmp_path, SHARD, rank=0, world_size=2, batch_size=BATCH,
                            progress=False)
    assert first.shards_written == 2                       # shards 0 and 2
    with pytest.raises(CacheError, match="shard-00001"):
        EmbeddingCache(tmp_path)
    encode_captions(CAPTIONS, encoder, tmp_path, SHARD, rank=1, world_size=2, batch_size=BATCH, progress=False)
    assert shard_bytes(tmp_path) == shard_bytes(cache_dir)


def test_reader_refuses_a_cache_of_another_encoder(encoder, cache_dir):
    assert len(EmbeddingCache(cache_dir, expected_encoder_id=encoder.id)) == len(CAPTIONS)
    with pytest.raises(CacheError, match="not of 'all-MiniLM-L6-v2@.*:len16'"):
        EmbeddingCache(cache_dir, expected_encoder_id=encoder.id.replace("len32", "len16"))


def test_resuming_with_other_captions_or_encoder_is_refused(encoder, cache_dir):
    with pytest.raises(CacheError, match="captions_sha256"):
        encode_captions(CAPTIONS[::-1], encoder, cache_dir, SHARD, batch_size=BATCH, progress=False)
    with pytest.raises(CacheError, match="encoder_id"):
        encode_captions(CAPTIONS, load_encoder(max_length=16), cache_dir, SHARD, batch_size=BATCH, progress=False)


TOY_ENCODER = '''
import time
import torch
from openimagen.text import pad_embeddings

class ToyEncoder:
    """Deterministic stand-in without transformers: word j of a caption becomes token j (its first 8 bytes)."""
    id, dim, max_length = "toy@0:len16", 8, 16

    def __init__(self, seconds_per_batch=0.0):
        self.seconds_per_batch = seconds_per_batch

    def encode(self, texts):
        time.sleep(self.seconds_per_batch)
        rows = [torch.tensor([list((w.encode() * 8)[:8]) for w in t.split()[:16]], dtype=torch.float32).view(-1, 8)
                for t in texts]
        return pad_embeddings(rows)
'''


def test_process_killed_mid_run_resumes_to_the_same_cache(tmp_path):
    captions = [f"caption {i}: {CAPTIONS[i % len(CAPTIONS)]}" for i in range(48)]
    (tmp_path / "captions.json").write_text(json.dumps(captions))
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    script = TOY_ENCODER + ("import json, sys\nfrom openimagen.text import encode_captions\n"
                            "encode_captions(json.load(open(sys.argv[1])), ToyEncoder(0.05), sys.argv[2], shard_size=4,"
                            f" batch_size={BATCH}, progress=False)\n")
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "captions.json"), str(killed)])
    deadline = time.monotonic() + 60
    while not (killed / "shard-00001.json").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.kill()                                     # SIGKILL: no cleanup handlers run
    process.wait()
    finished = len(list(killed.glob("shard-*.json")))
    assert 2 <= finished < 12, f"the kill came too late ({finished} of 12 shards finished)"
    toy = {}
    exec(TOY_ENCODER, toy)
    result = encode_captions(captions, toy["ToyEncoder"](), killed, shard_size=4, batch_size=BATCH, progress=False)
    assert result.shards_skipped == finished and result.shards_written == 12 - finished
    encode_captions(captions, toy["ToyEncoder"](), reference, shard_size=4, batch_size=BATCH, progress=False)
    assert shard_bytes(killed) == shard_bytes(reference)
