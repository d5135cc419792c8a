"""The dataset protocol: a rank-sharded, repeatable, resumable stream of image-caption samples.

Every source (folder, manifest, WebDataset shards, shapes world) subclasses `ImageTextStream` and implements
`records(rank, world_size, stream, num_streams, start)`: the deterministic, possibly infinite sequence of raw
records of one *logical stream* (one per DataLoader worker) on one rank, beginning at position `start`.
The base class decodes/preprocesses them, skips and counts bad ones, and keeps the data position:

- `positions[s]`: records consumed from logical stream s (the same on every rank: ranks advance in lockstep);
- `batches`: batches consumed, which rotates worker -> stream on resume so that the DataLoader's round-robin
  over workers continues with exactly the batch an uninterrupted run would have produced next.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from torch.utils.data import IterableDataset, get_worker_info

from .preprocess import Preprocess
from .skips import DataError, SkipReport, SkipSample

STATE_VERSION = 1
MAX_CONSECUTIVE_SKIPS = 1000    # unreadable draws in a row (per stream) before the source is declared unusable


@dataclass(frozen=True)
class Record:
    """One raw sample before decoding."""

    index: int          # position in its logical stream (0, 1, 2, ...)
    key: str            # stable id of the sample
    caption: str
    payload: Any        # bytes, a path, a PIL image, or a SkipSample saying why it is unusable
    where: str          # what to name in a skip report (path, or shard#key)
    seed: str           # fixes the random crop of this draw
    weight: float | None = None   # the sample's loss weight (weighted manifests only)


class ImageTextStream(IterableDataset):
    """Yields {"image": [3, H, W] in [-1, 1], "caption": str, "key": str}; see the module docstring."""

    # True if rank r of R reads global draws r, r + R, ... of one sequence, so a position can be re-split for a
    # different number of processes (sources that split otherwise, e.g. shards, refuse a world-size change)
    resplittable = False

    def __init__(self, preprocess: Preprocess, *, rank: int = 0, world_size: int = 1, seed: int = 0,
                 epochs: int | None = None, name: str = ""):
        if not (isinstance(world_size, int) and world_size >= 1):
            raise ValueError(f"world_size must be an int >= 1, got {world_size!r}")
        if not (isinstance(rank, int) and 0 <= rank < world_size):
            raise ValueError(f"rank must be an int in [0, world_size={world_size}), got {rank!r}")
        if epochs is not None and not (isinstance(epochs, int) and epochs >= 1):
            raise ValueError(f"epochs must be None (repeat forever) or an int >= 1, got {epochs!r}")
        self.preprocess = preprocess
        self.rank, self.world_size, self.seed, self.epochs = rank, world_size, seed, epochs
        self.name = name or type(self).__name__
        self.skip_report = SkipReport()
        self.positions: list[int] = [0]
        self.batches = 0
        self.max_consecutive_skips = MAX_CONSECUTIVE_SKIPS
        self.batch_size: int | None = None       # set by the loader: worker rotation on resume depends on it
        self.saved_batch_size: int | None = None # from a loaded state

    # ---- to implement by each source -------------------------------------------------------------------------
    def records(self, stream: int, num_streams: int, start: int) -> Iterator[Record]:
        raise NotImplementedError

    # ---- data position -------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-serialisable data position (identical on all ranks, so rank 0 may save it for everyone)."""
        return {"version": STATE_VERSION, "source": self.name, "seed": self.seed, "world_size": self.world_size,
                "positions": list(self.positions), "batches": self.batches, "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved position; the seed and the number of loader workers must match."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"data state has version {state.get('version')!r}, expected {STATE_VERSION}")
        if state["seed"] != self.seed:
            raise ValueError(f"data state was saved with seed={state['seed']}, this dataset has seed={self.seed}; "
                             "build the dataset with the same seed to resume")
        self.positions = [int(p) for p in state["positions"]]
        self.batches = int(state["batches"])
        self.saved_batch_size = state.get("batch_size")
        saved_world = int(state.get("world_size", self.world_size))   # states before world_size: assume unchanged
        if saved_world != self.world_size:
            self.positions = self._resplit(self.positions, saved_world)

    def _resplit(self, positions: list[int], saved_world: int) -> list[int]:
        """The position of rank `self.rank` after `saved_world` ranks each consumed `positions` (lockstep)."""
        where = (f"{self.name}: the data position was saved by {saved_world} process(es), this run has "
                 f"{self.world_size}")
        if not self.resplittable or len(positions) != 1:
            why = "loader workers split it further" if self.resplittable else "it splits its inputs by rank"
            raise ValueError(f"{where}; the position cannot be re-split ({why}): resume with {saved_world} "
                             "process(es)")
        consumed = positions[0] * saved_world                   # global draws 0 .. consumed - 1 are done
        if consumed % self.world_size:
            raise ValueError(f"{where}; {consumed} draws done do not split evenly: resume with {saved_world} "
                             f"process(es) or a number that divides {consumed}")
        return [consumed // self.world_size]

    def streams_for(self, num_streams: int) -> list[int]:
        """Positions for `num_streams` logical streams; refuses to silently re-split a started run."""
        if len(self.positions) != num_streams:
            if any(self.positions):
                raise ValueError(f"{self.name}: the data position was saved with {len(self.positions)} loader "
                                 f"worker(s) (num_workers={len(self.positions)} or 0 for one); resume with the "
                                 f"same num_workers, you asked for {num_streams}")
            self.positions = [0] * num_streams
        return self.positions

    # ---- iteration -----------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        in_worker = info is not None
        num_streams = info.num_workers if in_worker else 1
        worker = info.id if in_worker else 0
        positions = self.streams_for(num_streams)
        stream = (worker + self.batches) % num_streams
        pending: list[tuple[str, str, str]] = []       # skips a worker must report to the main process
        last, bad_in_a_row, start = positions[stream] - 1, 0, positions[stream]
        for record in self.records(stream, num_streams, start):
            last = record.index
            try:
                if isinstance(record.payload, SkipSample):            # the source already knows it is bad
                    raise record.payload
                image = self.preprocess(record.payload, seed=record.seed)
            except SkipSample as skip:
                if self.skip_report.record(record.where, skip.reason, skip.detail) and in_worker:
                    pending.append((record.where, skip.reason, skip.detail))
                bad_in_a_row += 1
                if bad_in_a_row >= self.max_consecutive_skips:
                    raise self._no_readable_sample(f"in {bad_in_a_row} draws in a row") from None
                continue
            bad_in_a_row = 0
            item = {"image": image, "caption": record.caption, "key": record.key}
            if record.weight is not None:
                item["weight"] = record.weight
            if in_worker:
                item.update(_stream=stream, _index=record.index, _skipped=pending)
                pending = []
            else:
                positions[stream] = record.index + 1
            yield item
        if in_worker and pending:                      # a finite stream ending on bad files still reports them
            yield {"_stream": stream, "_index": last, "_skipped": pending}
        every_draw_bad = start == 0 and bad_in_a_row == last + 1 > 0      # a whole finite pass gave nothing
        if every_draw_bad and not in_worker and self.world_size == 1:       # (a worker or rank sees only a share)
            raise self._no_readable_sample("in a full pass over the data")

    def _no_readable_sample(self, where: str) -> DataError:
        """The one-line error of a source that gives nothing to train on: how many draws, the first bad inputs."""
        return DataError(f"{self.name}: no readable sample {where} ({self.skip_report.total} unreadable inputs, "
                         f"e.g. {self.skip_report.examples_line()}); fix or remove them")
