"""`build_dataset`: one entry point from a source description to a resumable image-caption stream."""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from .errors import DataSourceError
from .folder import scan_folder
from .indexed import IndexedStream
from .manifest import read_manifest
from .preprocess import Preprocess
from .shards import ShardStream
from .skips import SkipReport
from .stream import ImageTextStream
from .weights import ExampleWeight

SOURCE_TYPES = ("folder", "manifest", "webdataset", "shapes")
_HELP = ("use a folder path, a .csv/.jsonl manifest, a WebDataset spec (.tar file, brace pattern "
         "'shards/{00000..00009}.tar', URL or 'pipe:CMD'), 'shapes:PROMPTS.jsonl', or a dict {'type': one of "
         f"{SOURCE_TYPES}, ...}}")


def source_type(source: str) -> str:
    """Which kind of source a string names (see `build_dataset`)."""
    lowered = source.lower()
    if source == "shapes" or source.startswith("shapes:"):
        return "shapes"
    if lowered.startswith(("pipe:", "http://", "https://", "gs://", "s3://", "hf://")) or "::" in source \
            or lowered.endswith((".tar", ".tar.gz", ".tgz")) or ("{" in source and ".." in source):
        return "webdataset"
    if lowered.endswith((".csv", ".jsonl", ".ndjson")):
        return "manifest"
    if os.path.isdir(source):
        return "folder"
    if lowered.endswith(".json"):
        raise ValueError(f"data source {source!r}: a .json file is not a manifest; write one JSON object per line, "
                         '{"path": "a.jpg", "caption": "a cat"}, in a .jsonl file')
    raise ValueError(f"data source {source!r} is not an existing folder nor a recognised spec; {_HELP}")


def _parse(source: str) -> dict[str, Any]:
    kind = source_type(source)
    if kind == "shapes":
        return {"type": "shapes", **({"prompts": source[len("shapes:"):]} if source != "shapes" else {})}
    return {"type": kind, "path": source}


def build_dataset(source: str | dict[str, Any], resolution: int, *, random_crop: bool = False, min_size: int = 0,
                  rank: int = 0, world_size: int = 1, seed: int = 0, epochs: int | None = None,
                  shuffle: bool = True, example_weight: ExampleWeight | None = None) -> ImageTextStream:
    """An IterableDataset of {"image": [3, resolution, resolution] in [-1, 1], "caption": str, "key": str}.

    Sharded by (rank, world_size) and by DataLoader worker; repeats forever unless `epochs` is given;
    `state_dict()` / `load_state_dict()` hold its position; `skip_report` counts unusable inputs.
    Dict sources: {"type": "folder", "path": ...}, {"type": "manifest", "path": ...},
    {"type": "webdataset", "urls": spec or list}, {"type": "shapes", "prompts": "specs.jsonl"}.
    `example_weight` (manifests only) reads a score column: each item then carries "weight" (loss mode), or the
    items are drawn in proportion to it (sampling mode); `dataset.example_weights` holds the weights.
    Raises DataSourceError when the source is missing, empty or malformed.
    """
    try:
        return _build(source, resolution, random_crop, min_size, rank, world_size, seed, epochs, shuffle,
                      example_weight)
    except DataSourceError:
        raise
    except (ValueError, FileNotFoundError) as error:
        raise DataSourceError(str(error)) from error


def _build(source, resolution, random_crop, min_size, rank, world_size, seed, epochs, shuffle,
           example_weight) -> ImageTextStream:
    spec = _parse(source) if isinstance(source, str) else dict(source)
    kind = spec.pop("type", None)
    if kind not in SOURCE_TYPES:
        raise ValueError(f"data source {source!r}: 'type' must be one of {SOURCE_TYPES}, got {kind!r}; {_HELP}")
    if example_weight is not None and kind != "manifest":
        raise ValueError(f"train.example_weight reads a column of a manifest (.csv/.jsonl); data source {source!r} "
                         f"is a {kind}")
    preprocess = Preprocess(resolution=resolution, random_crop=random_crop, min_size=min_size)
    common = dict(rank=rank, world_size=world_size, seed=seed, epochs=epochs)

    def take(*allowed: str) -> dict:
        unknown = set(spec) - set(allowed)
        if unknown:
            raise ValueError(f"data source {kind!r}: unknown option(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        return spec

    if kind == "folder":
        path = take("path")["path"]
        report = SkipReport()
        samples = usable(scan_folder(path, report), report, f"folder:{path}")
        dataset = IndexedStream(samples, preprocess, shuffle=shuffle, name=f"folder:{path}", **common)
        dataset.skip_report = report                                 # keeps the images found without captions
        return dataset
    if kind == "manifest":
        path = take("path")["path"]
        return _manifest_stream(path, preprocess, shuffle, example_weight, common)
    if kind == "webdataset":
        options = take("path", "urls")
        urls = options.get("urls", options.get("path"))
        if urls is None:
            raise ValueError("data source 'webdataset' needs 'urls' (a spec string or a list of shard URLs)")
        return ShardStream(urls, preprocess, shuffle_shards=shuffle, name=f"webdataset:{urls}", **common)
    from .shapes_source import build_shapes_stream                  # lazy: the shapes world is optional
    return build_shapes_stream(spec, preprocess, shuffle=shuffle, **common)


def usable(samples: list, report: SkipReport, name: str) -> list:
    """`samples`, or, when every input was skipped, an error saying why (reasons and the first few inputs)."""
    if not samples and report.total:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.counts.items()))
        raise ValueError(f"{name}: no usable samples, all {report.total} inputs skipped ({reasons}), e.g. "
                         f"{report.examples_line()}; fix them")
    return samples


def _manifest_stream(path: str, preprocess: Preprocess, shuffle: bool, example_weight: ExampleWeight | None,
                     common: dict) -> IndexedStream:
    report = SkipReport()                                            # keeps the rows with an empty caption
    if example_weight is None:
        samples = usable(read_manifest(path, report=report), report, f"manifest:{path}")
        dataset = IndexedStream(samples, preprocess, shuffle=shuffle, name=f"manifest:{path}", **common)
        dataset.skip_report = report
        return dataset
    samples = usable(read_manifest(path, example_weight.field, example_weight.default, report=report), report,
                     f"manifest:{path}")
    weights = example_weight.weights([s.weight for s in samples])
    if example_weight.mode == "loss":
        samples, sampling = [dataclasses.replace(s, weight=float(w)) for s, w in zip(samples, weights)], None
    else:
        samples, sampling = [dataclasses.replace(s, weight=None) for s in samples], weights
    dataset = IndexedStream(samples, preprocess, shuffle=shuffle, sampling_weights=sampling,
                            name=f"manifest:{path}", **common)
    dataset.example_weights = weights
    dataset.skip_report = report
    return dataset
