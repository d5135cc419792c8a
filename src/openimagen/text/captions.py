"""Read the captions of a data set from a manifest file: .txt (one per line), .jsonl or .csv (a caption field)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openimagen.files import read_utf8


def read_captions(path: str | Path, field: str = "caption") -> list[str]:
    """Captions in file order. `.txt`: every line is one caption (an empty line is the empty caption);
    `.jsonl`: one JSON object per line with a `field` key; `.csv`: a header row with a `field` column."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"captions file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return read_utf8(path).splitlines()
    if suffix == ".jsonl":
        return _read_jsonl(path, field)
    if suffix == ".csv":
        return _read_csv(path, field)
    raise ValueError(f"captions file {path}: unknown format {suffix!r}; use .txt (one caption per line), "
                     f".jsonl or .csv (with a {field!r} field)")


def _read_jsonl(path: Path, field: str) -> list[str]:
    captions = []
    for number, line in enumerate(read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{path} line {number} is not valid JSON ({error})") from error
        captions.append(_field(record, field, f"{path} line {number}"))
    return captions


def _read_csv(path: Path, field: str) -> list[str]:
    with io.StringIO(read_utf8(path), newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or field not in reader.fieldnames:
            raise ValueError(f"{path} has no {field!r} column (columns: {reader.fieldnames}); "
                             "name the caption column in the header or pass field=")
        return [_field(row, field, f"{path} row {number}") for number, row in enumerate(reader, start=2)]


def _field(record, field: str, where: str) -> str:
    value = record.get(field) if isinstance(record, dict) else None
    if not isinstance(value, str):
        raise ValueError(f"{where} has no string {field!r} field (got {type(value).__name__})")
    return value
