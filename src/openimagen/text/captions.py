"""Read the captions of a data set from a manifest file: .txt (one per line), .jsonl or .csv (a caption field)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openimagen.data.captions import clean_caption, without_bom
from openimagen.files import read_utf8


def read_captions(path: str | Path, field: str = "caption") -> list[str]:
    """Captions in file order. `.txt`: every line is one caption (an empty line is the empty caption);
    `.jsonl`: one JSON object per line with a `field` key; `.csv`: a header row with a `field` column. A leading BOM
    is ignored and each caption is cleaned as the data sources clean it (`clean_caption`), so the cache's text
    matches what training looks up."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"captions file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".jsonl", ".csv"):
        raise ValueError(f"captions file {path}: unknown format {suffix!r}; use .txt (one caption per line), "
                         f".jsonl or .csv (with a {field!r} field)")
    text = without_bom(read_utf8(path))
    if suffix == ".txt":
        return [clean_caption(line) for line in text.splitlines()]
    return _read_jsonl(path, text, field) if suffix == ".jsonl" else _read_csv(path, text, field)


def _read_jsonl(path: Path, text: str, field: str) -> list[str]:
    captions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{path} line {number} is not valid JSON ({error})") from error
        captions.append(_field(record, field, f"{path} line {number}"))
    return captions


def _read_csv(path: Path, text: str, field: str) -> list[str]:
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or field not in reader.fieldnames:
            raise ValueError(f"{path} has no {field!r} column (columns: {reader.fieldnames}); "
                             "name the caption column in the header or pass field=")
        return [_field(row, field, f"{path} row {number}") for number, row in enumerate(reader, start=2)]


def _field(record, field: str, where: str) -> str:
    value = record.get(field) if isinstance(record, dict) else None
    if not isinstance(value, str):
        raise ValueError(f"{where} has no string {field!r} field (got {type(value).__name__})")
    return clean_caption(value)
