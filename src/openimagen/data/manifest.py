"""Source 2: a manifest listing (path, caption) and optionally a score per example, as CSV with a header or as
JSON lines."""
from __future__ import annotations

import csv
import io
import json
import os

from openimagen.files import read_utf8

from .captions import clean_caption, without_bom
from .errors import DataSourceError
from .indexed import Sample
from .skips import SkipReport
from .weights import parse_score


class ManifestError(DataSourceError):
    """A malformed manifest; the message names the file and line."""


def _score(manifest: str, line: int, value, field: str | None, default: float | None) -> float | None:
    if field is None:
        return None
    try:
        return parse_score(value, field, default, f"{manifest}:{line}")
    except ValueError as error:
        raise ManifestError(str(error)) from None


def _sample(manifest: str, line: int, path, caption, score: float | None = None) -> Sample:
    if not isinstance(path, str) or not path:
        raise ManifestError(f"{manifest}:{line}: 'path' must be a non-empty string, got {path!r}")
    if not isinstance(caption, str):
        raise ManifestError(f"{manifest}:{line}: 'caption' must be a string, got {caption!r}")
    if path.lower().startswith(("http://", "https://", "s3://", "gs://")):
        raise ManifestError(f"{manifest}:{line}: 'path' is a URL ({path[:80]}); a manifest lists local image files: "
                            "download the images first (e.g. img2dataset, then train on its shards)")
    full = path if os.path.isabs(path) else os.path.join(os.path.dirname(os.path.abspath(manifest)), path)
    return Sample(path=full, caption=clean_caption(caption), key=os.path.splitext(path)[0], weight=score)


def _usable_rows(manifest: str, rows: list[tuple[int, Sample]], report: SkipReport | None) -> list[Sample]:
    """The samples with a caption, each (file, caption) pair once; the others are counted in `report`:
    "empty_caption", "duplicate" (a repeated row would be trained on twice per epoch; use train.example_weight to
    weight examples). One image with several different captions is kept once per caption."""
    first_line: dict[tuple[str, str], int] = {}
    samples = []
    for line, sample in rows:
        pair = (os.path.normpath(sample.path), sample.caption)
        if not sample.caption:
            skip = (sample.path, "empty_caption", f"{manifest}:{line} has an empty caption")
        elif pair in first_line:
            skip = (f"{manifest}:{line}", "duplicate", f"repeats line {first_line[pair]} (same file and caption)")
        else:
            first_line[pair] = line
            samples.append(sample)
            continue
        if report is not None:
            report.record(*skip)
    return samples


def _read_jsonl(manifest: str, field: str | None, default: float | None) -> list[tuple[int, Sample]]:
    samples = []
    for line, text in enumerate(without_bom(read_utf8(manifest)).split("\n"), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exn:
            raise ManifestError(f"{manifest}:{line}: invalid JSON ({exn.msg}); each line must be an "
                                'object like {"path": "a.jpg", "caption": "a cat"}') from None
        if not isinstance(row, dict) or "path" not in row or "caption" not in row:
            raise ManifestError(f"{manifest}:{line}: each line needs the keys 'path' and 'caption', got {text.strip()[:80]!r}")
        samples.append((line, _sample(manifest, line, row["path"], row["caption"],
                                      _score(manifest, line, row.get(field) if field else None, field, default))))
    return samples


def _csv_rows(manifest: str, text: str):
    """(reader, rows) of a CSV text read strictly: a quote that is never closed (which would swallow the following
    rows into one caption) or text after a closing quote is a ManifestError naming the row's first line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)

    def rows():
        while True:
            first_line = reader.line_num + 1
            try:
                yield next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise ManifestError(f"{manifest}:{first_line}: not valid CSV ({error}); a field that starts with a "
                                    'quote must end with one (write "" for a quote inside it)') from None
    return reader, rows()


def _read_csv(manifest: str, field: str | None, default: float | None) -> list[tuple[int, Sample]]:
    samples = []
    reader, rows = _csv_rows(manifest, without_bom(read_utf8(manifest)))
    header = next(rows, None)
    if header is None or "path" not in header or "caption" not in header:
        separator = next((f" (separate the columns with commas, not {sep!r})" for sep in (";", "\t", "|")
                          if header and len(header) == 1 and sep in header[0]), "")
        raise ManifestError(f"{manifest}:1: the CSV header must name the columns 'path' and 'caption', got "
                            f"{header!r}{separator}")
    i_path, i_caption = header.index("path"), header.index("caption")
    i_score = header.index(field) if field in header else None
    if field is not None and i_score is None and default is None:
        raise ManifestError(f"{manifest}:1: the CSV header has no {field!r} column (train.example_weight.field)")
    for row in rows:
        line = reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            raise ManifestError(f"{manifest}:{line}: expected {len(header)} fields like the header, got {len(row)}; "
                                "quote captions that contain commas")
        score = _score(manifest, line, None if i_score is None else row[i_score], field, default)
        samples.append((line, _sample(manifest, line, row[i_path], row[i_caption], score)))
    return samples


def read_manifest(manifest: str, score_field: str | None = None, default: float | None = None,
                  report: SkipReport | None = None) -> list[Sample]:
    """Samples of a `.csv` (header with `path`, `caption`) or `.jsonl` manifest; relative paths are
    relative to the manifest's folder; a leading BOM is ignored and captions are cleaned (`clean_caption`). Rows with
    an empty caption or repeating an earlier row are skipped and counted in `report` ("empty_caption", "duplicate");
    missing image files are skipped later, not here. With `score_field`, each
    sample's `weight` is that column's number (>= 0; `default` for rows without it, else an error)."""
    if not os.path.isfile(manifest):
        raise FileNotFoundError(f"manifest {manifest!r} does not exist")
    ext = os.path.splitext(manifest)[1].lower()
    if ext not in (".csv", ".jsonl", ".ndjson"):
        raise ManifestError(f"manifest {manifest!r}: unknown format {ext!r}; use .csv or .jsonl")
    rows = (_read_csv if ext == ".csv" else _read_jsonl)(manifest, score_field, default)
    if not rows:
        raise ManifestError(f"manifest {manifest} lists no images; add one row per image (path and caption)")
    return _usable_rows(manifest, rows, report)
