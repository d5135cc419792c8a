"""Shared tiny fixtures for the cascade and trainer tests (not a test module)."""

import zlib

import pytest
import torch

from openimagen.cascade.config import CascadeConfig, StageConfig
from openimagen.cascade.pipeline import Cascade
from openimagen.cascade.text_embedder import TextEmbedder


class WordEncoder:
    """A deterministic stand-in text encoder: one random 32-d vector per word (fast; no weights)."""

    dim, max_length, id = 32, 16, "word-encoder"

    def encode(self, texts):
        rows = []
        for text in texts:
            words = text.split()
            rows.append(torch.stack([torch.randn(self.dim, generator=torch.Generator().manual_seed(zlib.crc32(w.encode())))
                                     for w in words]) if words else torch.zeros(0, self.dim))
        n = max(1, max(len(r) for r in rows))
        emb, mask = torch.zeros(len(rows), n, self.dim), torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            emb[i, :len(r)], mask[i, :len(r)] = r, True
        return emb, mask


def tiny_cascade_config(steps: int = 2) -> CascadeConfig:
    return CascadeConfig(stages=[StageConfig(resolution=8, network="tiny-test-base", steps=steps),
                                 StageConfig(resolution=16, network="tiny-test-sr", steps=steps, crop_size=8)])


@torch.no_grad()
def perturb(module: torch.nn.Module, scale: float = 0.05, seed: int = 0) -> torch.nn.Module:
    """Add noise to every weight: fresh networks output exactly 0 (zero-initialised output layers), so a test
    comparing their outputs would pass with any weights."""
    generator = torch.Generator().manual_seed(seed)
    for parameter in module.parameters():
        parameter.add_(torch.randn(parameter.shape, generator=generator) * scale)
    return module


def tiny_cascade(seed: int = 0) -> Cascade:
    torch.manual_seed(seed)
    return Cascade.from_config(tiny_cascade_config(), WordEncoder.dim, TextEmbedder(encoder=WordEncoder()))


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core box two threads per process oversubscribe (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
