"""Source 3: WebDataset tar shards in the img2dataset layout (`NNNNN.jpg` + `NNNNN.txt` / `NNNNN.json`).

Shards are local paths, URLs or `pipe:` commands, with brace patterns (`data/{00000..00099}.tar`) and `::`
separated lists, expanded and read by the `webdataset` library. With at least as many shards as
(rank, worker) streams, each stream owns the shards `j` with `j % streams == slot` (standard shard split);
with fewer shards every stream reads all of them and keeps every `streams`-th sample. Either way the
streams partition the data: no duplicates, no losses. Each epoch reshuffles the shard order (seeded).
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterator

from webdataset.shardlists import expand_urls
from webdataset.tariterators import tarfile_samples

from openimagen.files import NotUtf8Error, decode_utf8

from .captions import clean_caption
from .folder import IMAGE_EXTENSIONS
from .preprocess import Preprocess
from .skips import DataError, SkipReport, SkipSample
from .stream import ImageTextStream, Record

IMAGE_KEYS = tuple(extension[1:] for extension in IMAGE_EXTENSIONS)    # the folder source's: jpg, png, gif, ...


def expand_shards(spec: str | list[str]) -> list[str]:
    """A brace pattern / `::` list / list of specs -> the list of shard URLs."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    urls = [url for s in specs for url in expand_urls(s)]
    if not urls:
        raise ValueError(f"WebDataset spec {spec!r} names no shards")
    return urls


def caption_of(sample: dict) -> str | None:
    """The caption of an img2dataset sample: `.txt`, else the `caption` field of `.json` (None if neither);
    ValueError naming the file if the `.json` is not a JSON object, NotUtf8Error if the `.txt` is not UTF-8."""
    if "txt" in sample:
        return clean_caption(decode_utf8(sample["txt"], f"{sample['__key__']}.txt"))
    if "json" in sample:
        try:
            record = json.loads(sample["json"])
        except ValueError as error:
            raise ValueError(f"{sample['__key__']}.json is not valid JSON ({error})") from None
        caption = record.get("caption") if isinstance(record, dict) else None
        return clean_caption(caption) if isinstance(caption, str) else None
    return None


def _missing_part(sample: dict, has_image: bool) -> str:
    """Why a sample without an image or caption is incomplete, naming the files it does have."""
    missing = "caption (.txt or .json 'caption')" if has_image else f"image (.{', .'.join(IMAGE_KEYS)})"
    parts = sorted(part for part in sample if not part.startswith("__"))
    detail = f"no {missing}; it has " + (", ".join(f"{sample['__key__']}.{part}" for part in parts) or "no files")
    if any("." in part for part in parts):
        detail += " (a sample's key ends at the first dot of its file names: rename to KEY.jpg + KEY.txt)"
    return detail


def read_shard(url: str, report: SkipReport | None) -> Iterator[dict]:
    """Samples of one shard; an unreadable or truncated shard is reported and ends early."""
    try:
        yield from tarfile_samples([{"url": url}])
    except Exception as exn:                                       # noqa: BLE001 - never crash on bad data
        if report is not None:
            report.record(url, "unreadable_shard", _shard_error(exn))


def _shard_error(error: Exception) -> str:
    """`ReadError: empty file` (webdataset adds the stream object and URL to the arguments: left out)."""
    message = error.args[0] if len(error.args) > 1 and isinstance(error.args[0], str) else str(error)
    return f"{type(error).__name__}: {message}"


class ShardStream(ImageTextStream):
    """Image-caption stream over WebDataset shards; see the module docstring for the split."""

    def __init__(self, spec: str | list[str], preprocess: Preprocess, *, shuffle_shards: bool = True, **kwargs):
        super().__init__(preprocess, **kwargs)
        self.spec = spec
        self.urls = expand_shards(spec)
        self.shuffle_shards = shuffle_shards

    def _epoch_urls(self, slot: int, slots: int, epoch: int) -> tuple[list[str], bool]:
        """Shards this slot reads in `epoch`, and whether it must keep only every `slots`-th sample."""
        share_samples = len(self.urls) < slots
        urls = list(self.urls) if share_samples else self.urls[slot::slots]
        if self.shuffle_shards:
            rng_slot = 0 if share_samples else slot                 # shared shards: same order for every slot
            random.Random(f"{self.seed}:{rng_slot}:{epoch}").shuffle(urls)
        return urls, share_samples

    def _epoch_samples(self, slot: int, slots: int, epoch: int) -> Iterator[tuple[str, dict]]:
        urls, share_samples = self._epoch_urls(slot, slots, epoch)
        counter = 0
        for url in urls:
            for sample in read_shard(url, self.skip_report):
                counter += 1
                if not share_samples or (counter - 1) % slots == slot:
                    yield url, sample

    def records(self, stream: int, num_streams: int, start: int) -> Iterator[Record]:
        slots = self.world_size * num_streams
        slot = self.rank * num_streams + stream
        index, epoch, epoch_length = 0, 0, None
        while self.epochs is None or epoch < self.epochs:
            if epoch_length and start - index >= epoch_length:      # resume: jump whole epochs without reading
                skip = (start - index) // epoch_length
                if self.epochs is not None:
                    skip = min(skip, self.epochs - epoch)
                index, epoch = index + skip * epoch_length, epoch + skip
                continue
            first = index
            for url, sample in self._epoch_samples(slot, slots, epoch):
                index += 1
                if index - 1 < start:                                # resume: skip without decoding
                    continue
                yield self._record(url, sample, index - 1, slot)
            epoch_length = index - first
            if epoch_length == 0:
                skipped = f"; skipped: {self.skip_report.examples_line()}" if self.skip_report.total else ""
                raise DataError(f"WebDataset {self.spec!r}: stream {slot} of {slots} found no samples in its "
                                f"shards; check the shard paths{skipped}")
            epoch += 1

    def _record(self, url: str, sample: dict, index: int, slot: int) -> Record:
        key, where = sample["__key__"], f"{url}#{sample['__key__']}"
        payload = next((sample[k] for k in IMAGE_KEYS if k in sample), None)
        try:
            caption = caption_of(sample)
        except NotUtf8Error as error:
            payload, caption = SkipSample("caption_not_utf8", str(error)), ""
        except ValueError as error:
            payload, caption = SkipSample("incomplete_sample", str(error)), ""
        if payload is None or caption is None:
            payload, caption = SkipSample("incomplete_sample", _missing_part(sample, payload is not None)), ""
        elif not caption and not isinstance(payload, SkipSample):
            payload = SkipSample("empty_caption", "its caption is empty")
        return Record(index=index, key=key, caption=caption, payload=payload, where=where,
                      seed=f"{self.seed}:{slot}:{index}")
