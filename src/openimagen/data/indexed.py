"""Map-style sources (a list of samples) as a sharded stream: seeded permutation per epoch, split by rank and worker."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from .preprocess import Preprocess
from .skips import DataError, SkipSample
from .stream import ImageTextStream, Record


@dataclass(frozen=True)
class Sample:
    """One indexed sample: where the image is, its caption, its key (and its loss weight, if weighted)."""

    path: str
    caption: str
    key: str
    weight: float | None = None


def global_index(position: int, stream: int, num_streams: int, rank: int, world_size: int) -> int:
    """Position in one (rank, stream) -> index in the global sequence of draws.

    Stream s of S takes every S-th draw of its rank; rank r of R takes every R-th global draw, so the
    (rank, stream) pairs partition the global sequence: no duplicates, no losses.
    """
    return (position * num_streams + stream) * world_size + rank


class IndexedStream(ImageTextStream):
    """Stream over a fixed list of samples; epoch e visits them in a permutation seeded by (seed, e), or, with
    `sampling_weights` (one probability per sample), draws len(samples) of them with replacement in proportion."""

    resplittable = True                        # rank r reads global draws r, r + R, ... (see global_index)

    def __init__(self, samples: Sequence[Sample], preprocess: Preprocess, *, shuffle: bool = True,
                 sampling_weights: Sequence[float] | None = None, **kwargs):
        super().__init__(preprocess, **kwargs)
        if not samples:
            raise ValueError(f"{self.name}: no samples found; check the path and that images have captions")
        self.samples = list(samples)
        self.shuffle = shuffle
        self.sampling_weights = None if sampling_weights is None else torch.as_tensor(sampling_weights,
                                                                                      dtype=torch.float64)
        self._order_epoch, self._order = -1, None

    def __len__(self) -> int:
        """Samples per epoch (all ranks together)."""
        return len(self.samples)

    def payload(self, sample: Sample, draw: int):
        """What `Preprocess` decodes for `sample` at global draw `draw`: its file path (subclasses may render)."""
        return sample.path

    def __getitem__(self, index: int) -> dict:
        """Map-style access: sample `index` (random crop seeded by (seed, index)); see `item`."""
        return self.item(index)

    def item(self, index: int, draw: int | None = None) -> dict:
        """Sample `index` decoded; an unusable file is recorded in `skip_report` and the next usable sample
        (index + 1, ...) is returned instead, so map-style loaders never crash. `draw` seeds the random crop
        (pass the global position to get a new crop every epoch; default: the index)."""
        n, draw = len(self.samples), index if draw is None else draw
        for offset in range(n):
            sample = self.samples[(index + offset) % n]
            try:
                image = self.preprocess(self.payload(sample, draw), seed=f"{self.seed}:{draw}")
            except SkipSample as skip:
                self.skip_report.record(sample.path, skip.reason, skip.detail)
                continue
            item = {"image": image, "caption": sample.caption, "key": sample.key}
            return item if sample.weight is None else {**item, "weight": sample.weight}
        raise DataError(f"{self.name}: none of the {n} samples could be read (e.g. {self.skip_report.examples_line()}); "
                        "fix or remove them")

    def order(self, epoch: int) -> torch.Tensor:
        """Visiting order of epoch `epoch` (cached for the current one)."""
        if epoch != self._order_epoch:
            n = len(self.samples)
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            if self.sampling_weights is not None:
                self._order = torch.multinomial(self.sampling_weights, n, replacement=True, generator=generator)
            elif self.shuffle:
                self._order = torch.randperm(n, generator=generator)
            else:
                self._order = torch.arange(n)
            self._order_epoch = epoch
        return self._order

    def records(self, stream: int, num_streams: int, start: int) -> Iterator[Record]:
        n = len(self.samples)
        position = start
        while True:
            g = global_index(position, stream, num_streams, self.rank, self.world_size)
            epoch = g // n
            if self.epochs is not None and epoch >= self.epochs:
                return
            sample = self.samples[int(self.order(epoch)[g % n])]
            yield Record(index=position, key=sample.key, caption=sample.caption, payload=self.payload(sample, g),
                         where=sample.path, seed=f"{self.seed}:{g}", weight=sample.weight)
            position += 1
