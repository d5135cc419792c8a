"""Measure the text side: MiniLM encoding throughput on this machine and the embedding cache's bytes per caption.

    /work/venv/bin/python benchmarks/bench_text.py --captions 2048 --batch-size 64

Captions are COCO-like synthetic sentences (seeded, 6-30 words); the cache is compared with what a naive cache
would store: every caption padded to max_length tokens in float32. `encode_captions_per_s_*` encode in caption order;
`encode_and_write_captions_per_s` is `encode_captions` (length-sorted batches within a shard, plus shard writing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import torch

from openimagen.text import EmbeddingCache, encode_captions, load_encoder

SUBJECTS = ["a dog", "two cats", "a man in a red jacket", "a small child", "an old wooden boat", "a plate of food",
            "a group of people", "a yellow school bus", "three green apples", "a woman holding an umbrella"]
ACTIONS = ["sitting on", "walking along", "standing next to", "lying under", "parked near", "floating on"]
PLACES = ["a bench", "the beach", "a busy city street", "a kitchen table", "a snowy mountain road", "a calm lake"]
DETAILS = ["at sunset", "in the rain", "with trees in the background", "on a bright sunny day",
           "while birds fly overhead and a crowd watches from the other side of the road", "in black and white"]


def synthetic_captions(count: int, seed: int = 0) -> list[str]:
    """COCO-style captions: subject, action, place and zero to two extra details."""
    rng = random.Random(seed)
    return [" ".join([rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(PLACES)]
                     + rng.sample(DETAILS, rng.randint(0, 2))) for _ in range(count)]


def measure(count: int, batch_size: int, max_length: int, repeats: int) -> dict:
    encoder = load_encoder("minilm", max_length=max_length, device="cpu")
    captions = synthetic_captions(count)
    encoder.encode(captions[:batch_size])                     # warm-up
    batch_seconds, passes = [], []     # the CPU is shared: the fastest batch shows the uncontended speed
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, count, batch_size):
            batch_start = time.perf_counter()
            encoder.encode(captions[i:i + batch_size])
            batch_seconds.append(time.perf_counter() - batch_start)
        passes.append(time.perf_counter() - start)
    batch_seconds.sort()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        encode_captions(captions, encoder, folder, shard_size=1024, batch_size=batch_size, progress=False)
        with_writing = time.perf_counter() - start
        cache_bytes = sum(p.stat().st_size for p in Path(folder).iterdir())
        tokens = sum(len(EmbeddingCache(folder)[i]) for i in range(count))
    padded_fp32 = max_length * encoder.dim * 4
    return {
        "encoder": encoder.id, "captions": count, "batch_size": batch_size, "max_length": max_length,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
        "mean_tokens_per_caption": tokens / count,
        "encode_captions_per_s_whole_pass_best": count / min(passes),
        "encode_captions_per_s_median_batch": batch_size / batch_seconds[len(batch_seconds) // 2],
        "encode_captions_per_s_fastest_batch": batch_size / batch_seconds[0],
        "encode_and_write_captions_per_s": count / with_writing,
        "cache_bytes_per_caption": cache_bytes / count, "padded_fp32_bytes_per_caption": padded_fp32,
        "cache_fraction_of_padded_fp32": cache_bytes / count / padded_fp32,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(measure(args.captions, args.batch_size, args.max_length, args.repeats), indent=2))


if __name__ == "__main__":
    main()
