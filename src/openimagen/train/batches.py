"""Micro-batches from an `openimagen.data` stream, each sample tagged with a run-wide index.

The index keys the sample's random draws (`SampleRandom`). The k-th sample this process takes gets
`k * world + rank`: with the data pipeline's rank split (global draw g -> rank g mod world) this is the sample's
global draw index, so a run sees the same numbers on 1 or N processes (without skipped files or loader workers;
otherwise the index is still unique and deterministic).
"""

from __future__ import annotations

from typing import Generator

import torch

from openimagen.data import make_loader

__all__ = ["StreamBatches"]


class StreamBatches:
    """`next_batch()` -> {"image", "caption", "key", "index"}; `state_dict()` = data position + sample counter."""

    def __init__(self, dataset, micro_batch: int, rank: int = 0, world: int = 1, num_workers: int = 0) -> None:
        self.dataset, self.micro, self.rank, self.world = dataset, micro_batch, rank, world
        self.num_workers = num_workers
        self.taken = 0                                  # samples this process has taken
        self._iterator: Generator[dict, None, None] | None = None

    def next_batch(self) -> dict:
        if self._iterator is None:
            self._iterator = iter(make_loader(self.dataset, self.micro, num_workers=self.num_workers))
        try:
            batch = next(self._iterator)
        except StopIteration:
            raise RuntimeError(f"the data source ran out of samples ({self.dataset.name}); "
                               "use a repeating dataset (epochs=None)") from None
        count = len(batch["key"])
        batch["index"] = (torch.arange(self.taken, self.taken + count) * self.world + self.rank)
        self.taken += count
        return batch

    def close(self) -> None:
        """Stop the loader's worker processes (a later `next_batch` starts new ones at the same position)."""
        if self._iterator is not None:
            self._iterator.close()
            self._iterator = None

    def state_dict(self) -> dict:
        return {"dataset": self.dataset.state_dict(), "taken": self.taken, "world": self.world}

    def load_state_dict(self, state: dict) -> None:
        self.close()
        self.dataset.load_state_dict(state["dataset"])
        consumed = int(state["taken"]) * int(state.get("world", self.world))   # samples taken by all processes
        if consumed % self.world:
            raise ValueError(f"the data position ({consumed} samples) does not split over {self.world} processes; "
                             f"resume with {state.get('world')} process(es)")
        self.taken = consumed // self.world     # sample indices continue where the saved run stopped
