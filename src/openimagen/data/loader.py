"""Batching: `collate` and `make_loader`, a DataLoader that keeps the data position and skip report exact."""
from __future__ import annotations

import atexit
import signal
import weakref
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader

from .skips import DataError
from .stream import ImageTextStream


def _collate(items: list[dict], keep_state: bool) -> dict:
    samples = [item for item in items if "image" in item]          # drop skip-only end-of-stream markers
    batch = {"image": torch.stack([s["image"] for s in samples]) if samples else torch.empty(0, 3, 0, 0),
             "caption": [s["caption"] for s in samples],
             "key": [s["key"] for s in samples]}
    if samples and all("weight" in s for s in samples):                # weighted sources: the loss weights
        batch["weight"] = torch.tensor([float(s["weight"]) for s in samples])
    if keep_state:
        batch["_state"] = {"positions": [(i["_stream"], i["_index"]) for i in items if "_stream" in i],
                           "skipped": [event for i in items for event in i.get("_skipped", ())]}
    return batch


def collate(items: list[dict]) -> dict:
    """Samples -> {"image": [b, 3, H, W], "caption": list[str], "key": list[str]}."""
    return _collate(items, keep_state=False)


def _collate_with_state(items: list[dict]) -> dict:
    return _collate(items, keep_state=True)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _ignore_stop_signals(worker_id: int) -> None:
    """Loader workers leave SIGINT/SIGTERM to the main process (which saves and stops them): a signal to the whole
    process group (Ctrl-C, scancel, a time limit) must not kill a worker under the trainer's feet."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


_LIVE_WORKERS: weakref.WeakSet = weakref.WeakSet()   # torch iterators whose worker processes may still run


def _start_workers(dataloader: DataLoader) -> Iterator[dict]:
    """iter(dataloader) with SIGINT/SIGTERM blocked while workers fork, so none dies before ignoring them; the main
    process gets a signal that arrived meanwhile as soon as they are started."""
    if not dataloader.num_workers:
        return iter(dataloader)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        iterator = iter(dataloader)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    _LIVE_WORKERS.add(iterator)
    return iterator


def _stop_workers(iterator: Iterator[dict]) -> None:
    """Ask the workers to finish (they ignore SIGTERM, so multiprocessing's exit-time terminate() would not)."""
    shutdown = getattr(iterator, "_shutdown_workers", None)
    if shutdown is not None:
        shutdown()
    _LIVE_WORKERS.discard(iterator)


@atexit.register                  # runs before multiprocessing's own exit handler, which would wait forever
def _stop_all_workers() -> None:
    for iterator in list(_LIVE_WORKERS):
        _stop_workers(iterator)


def worker_message(error: Exception) -> str:
    """The message a loader worker raised: torch re-raises it prefixed by the worker's traceback, which a user
    need not read (its last line is `package.module.DataError: message`)."""
    last = str(error).strip().splitlines()[-1]
    prefix = f"{type(error).__module__}.{type(error).__qualname__}: "
    return last.removeprefix(prefix)


class Loader:
    """Batches of an `ImageTextStream` through a torch DataLoader, with a resumable position.

    Worker processes hold copies of the dataset; this loader copies their progress (per-stream positions,
    batches consumed) and skipped files back into `dataset`, so `dataset.state_dict()` and
    `dataset.skip_report` are right in the main process. Resuming needs the same batch size and num_workers.
    """

    def __init__(self, dataset: ImageTextStream, batch_size: int, *, num_workers: int = 0,
                 pin_memory: bool = False, prefetch_factor: int | None = None, timeout: float = 0):
        if not isinstance(dataset, ImageTextStream):
            raise TypeError(f"make_loader needs a dataset from build_dataset, got {type(dataset).__name__}")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not (isinstance(num_workers, int) and num_workers >= 0):
            raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
        self.dataset, self.batch_size, self.num_workers = dataset, batch_size, num_workers
        extra = {"prefetch_factor": prefetch_factor} if num_workers and prefetch_factor else {}
        self.dataloader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                                     collate_fn=_collate_with_state, pin_memory=pin_memory,
                                     persistent_workers=False, timeout=timeout,
                                     # its own generator: starting an epoch must not draw from torch's global one
                                     # (a resumed run would then get other dropout masks than a straight run)
                                     generator=torch.Generator().manual_seed(dataset.seed),
                                     worker_init_fn=_ignore_stop_signals if num_workers else None, **extra)

    def __iter__(self) -> Iterator[dict]:
        dataset = self.dataset
        positions = dataset.streams_for(max(1, self.num_workers))   # validates a loaded state early
        if self.num_workers and dataset.saved_batch_size not in (None, self.batch_size):
            raise ValueError(f"{dataset.name}: the data position was saved with batch size "
                             f"{dataset.saved_batch_size} and {self.num_workers} loader workers; resume with the "
                             f"same batch size (or num_workers = 0), you asked for {self.batch_size}")
        dataset.batch_size = self.batch_size
        iterator = _start_workers(self.dataloader)
        try:
            for batch in iterator:
                state = batch.pop("_state")
                if self.num_workers:                                # in-process iteration updates itself
                    for stream, index in state["positions"]:
                        positions[stream] = max(positions[stream], index + 1)
                    for event in state["skipped"]:
                        dataset.skip_report.record(*event)
                dataset.batches += 1
                if batch["key"]:
                    yield batch
        except DataError as error:
            if not self.num_workers:
                raise
            raise DataError(worker_message(error)) from None
        finally:                                                    # closed, exhausted or failed: stop workers
            _stop_workers(iterator)

    def state_dict(self) -> dict:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.dataset.load_state_dict(state)


def make_loader(dataset: ImageTextStream, batch_size: int, *, num_workers: int = 0, **kwargs) -> Loader:
    """An iterable of collated batches that keeps `dataset.state_dict()` and `dataset.skip_report` exact."""
    return Loader(dataset, batch_size, num_workers=num_workers, **kwargs)
