"""Deterministic, resumable micro-batches for each process, with a global sample index on every sample.

Global order: epoch e visits the dataset in a permutation seeded by (seed, e). Micro-batch m of the run covers
global positions [m * micro * world, (m + 1) * micro * world); process r takes its r-th slice. So the global batch of
an optimizer step is the same whatever the number of processes, and the data position is one integer.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["IndexedBatches", "default_collate"]


def default_collate(samples: list[dict]) -> dict:
    """Stack tensors, keep other values as lists."""
    return {key: torch.stack([s[key] for s in samples]) if torch.is_tensor(samples[0][key])
            else [s[key] for s in samples] for key in samples[0]}


class _Positions(Dataset):
    """Global position -> the sample at the permuted dataset index, with "index" = the position."""

    def __init__(self, dataset: Any, seed: int, shuffle: bool) -> None:
        self.dataset, self.seed, self.shuffle = dataset, seed, shuffle
        self._epoch, self._order = -1, None

    def dataset_index(self, position: int) -> int:
        size = len(self.dataset)
        epoch, offset = divmod(position, size)
        if not self.shuffle:
            return offset
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._order = epoch, torch.randperm(size, generator=generator).tolist()
        return self._order[offset]

    def __len__(self) -> int:  # not used by the sampler; positions are unbounded
        return len(self.dataset)

    def __getitem__(self, position: int) -> dict:
        return {**self.dataset[self.dataset_index(position)], "index": torch.tensor(position)}


class _RankPositions(Sampler):
    """Endless stream of this rank's global positions, starting at micro-batch `start`."""

    def __init__(self, micro: int, rank: int, world: int, start: int) -> None:
        self.micro, self.rank, self.world, self.start = micro, rank, world, start

    def __iter__(self) -> Iterator[int]:
        m = self.start
        while True:
            base = (m * self.world + self.rank) * self.micro
            yield from range(base, base + self.micro)
            m += 1


class IndexedBatches:
    """Micro-batches of a map-style dataset (`len`, `[i] -> dict`) for process `rank` of `world`."""

    def __init__(self, dataset: Any, micro_batch: int, rank: int = 0, world: int = 1, seed: int = 0,
                 shuffle: bool = True, num_workers: int = 0,
                 collate: Callable[[list[dict]], dict] = default_collate) -> None:
        if len(dataset) == 0:
            raise ValueError("the dataset is empty: no samples to train on")
        self.positions = _Positions(dataset, seed, shuffle)
        self.micro, self.rank, self.world = micro_batch, rank, world
        self.num_workers, self.collate = num_workers, collate
        self.consumed = 0  # micro-batches taken (each covers micro * world global positions)
        self._iterator: Iterator | None = None

    def _loader(self) -> Iterator:
        sampler = _RankPositions(self.micro, self.rank, self.world, self.consumed)
        return iter(DataLoader(self.positions, batch_size=self.micro, sampler=sampler, collate_fn=self.collate,
                               num_workers=self.num_workers, persistent_workers=False))

    def next_batch(self) -> dict:
        if self._iterator is None:
            self._iterator = self._loader()
        batch = next(self._iterator)
        self.consumed += 1
        return batch

    def state_dict(self) -> dict:
        return {"micro_batches": self.consumed, "micro_batch": self.micro, "world": self.world}

    def load_state_dict(self, state: dict) -> None:
        if state["micro_batch"] * state["world"] != self.micro * self.world:
            raise ValueError(f"cannot resume: the checkpoint used {state['world']} x {state['micro_batch']} samples "
                             f"per micro-batch, this run {self.world} x {self.micro}; keep the same layout")
        self.consumed = state["micro_batches"]
        self._iterator = None
