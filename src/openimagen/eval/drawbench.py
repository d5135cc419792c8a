"""DrawBench-style runs (Imagen Sec. 4.3): N images for every prompt of a benchmark sheet, one folder per model.

A run folder holds `run.json` (model, seed, settings), `prompts.jsonl` (index, prompt, category and, for shapes-world
prompts, the spec) and `images/PPPP-K.png` (prompt index, image index). Prompt p is sampled alone with its own seed
`prompt_seed(seed, p)`, so an image does not depend on which other prompts ran, in which process, or whether the run
was resumed: a rerun writes only the missing images, and they are the ones an uninterrupted run would have written.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openimagen.files import NotUtf8Error, read_utf8, write_text_atomic
from openimagen.eval.bench import image_name

CSV_COLUMNS = ("Prompts", "Category")            # the public DrawBench sheet


class PromptsError(ValueError):
    """A prompts file that cannot be read; the message names the file, the line and what is wrong."""


@dataclass(frozen=True)
class BenchPrompt:
    index: int
    prompt: str
    category: str
    spec: dict | None = None                      # a shapes-world spec (docs/shapes.md), for the automatic judge

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def read_prompts(path: str | Path) -> list[BenchPrompt]:
    """Prompts of a CSV with the columns `Prompts,Category` (DrawBench's sheet) or a JSONL file of objects with
    `prompt` and optional `category` (shapes-world prompts files are such JSONL files; their specs are kept)."""
    path = Path(path)
    if not path.is_file():
        raise PromptsError(f"--prompts {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        prompts = _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        prompts = _read_jsonl(path)
    else:
        raise PromptsError(f"--prompts {path}: use a .csv (columns Prompts,Category) or a .jsonl file")
    if not prompts:
        raise PromptsError(f"--prompts {path}: no prompts in the file")
    return prompts


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (without an Excel byte-order mark); PromptsError naming it otherwise."""
    try:
        return read_utf8(path).removeprefix("\ufeff")
    except NotUtf8Error as error:
        raise PromptsError(str(error)) from None
    except OSError as error:
        raise PromptsError(f"--prompts {path}: cannot read it ({error.strerror or error})") from None


def _next_csv_row(reader, path: Path) -> tuple[int, list[str] | None]:
    """(first line of the row, the row or None at the end); PromptsError naming the line of a malformed row."""
    line = reader.line_num + 1
    try:
        return line, next(reader, None)
    except csv.Error as error:
        raise PromptsError(f"{path}:{line}: malformed CSV row ({error}); check its quotes") from None


def _read_csv(path: Path) -> list[BenchPrompt]:
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), strict=True)
    header = _next_csv_row(reader, path)[1] or []
    columns = [name.strip().lower() for name in header]
    if "category" not in columns or not {"prompts", "prompt"} & set(columns):
        raise PromptsError(f"{path}:1: the CSV header must be {','.join(CSV_COLUMNS)} (the DrawBench sheet's), got "
                           f"{','.join(header)!r}")
    text = columns.index("prompts" if "prompts" in columns else "prompt")
    category = columns.index("category")
    prompts = []
    line, row = _next_csv_row(reader, path)
    while row is not None:
        if row:                                   # blank lines are skipped
            if len(row) != len(header):
                raise PromptsError(f"{path}:{line}: expected {len(header)} fields like the header, got {len(row)}; "
                                   "quote prompts that contain commas")
            if not row[text].strip():
                raise PromptsError(f"{path}:{line}: empty prompt")
            prompts.append(BenchPrompt(len(prompts), row[text].strip(), row[category].strip() or "uncategorized"))
        line, row = _next_csv_row(reader, path)
    return prompts


def _read_jsonl(path: Path) -> list[BenchPrompt]:
    prompts = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise PromptsError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            raise PromptsError(f"{path}:{number}: each line needs a string field 'prompt'")
        spec = row if "objects" in row else None
        prompts.append(BenchPrompt(len(prompts), row["prompt"], str(row.get("category") or "uncategorized"), spec))
    return prompts


def prompt_seed(seed: int, index: int) -> int:
    """The seed of prompt `index` in a run with `seed` (distinct for every prompt and run seed)."""
    return (seed * 1_000_003 + index) % 2**31


def image_path(run: str | Path, prompt_index: int, image_index: int) -> Path:
    return Path(run) / "images" / image_name(prompt_index, image_index)


def missing_images(run: str | Path, prompt: BenchPrompt, images_per_prompt: int) -> list[int]:
    return [k for k in range(images_per_prompt) if not image_path(run, prompt.index, k).is_file()]


def read_run_prompts(run: str | Path) -> list[BenchPrompt]:
    """The prompts a run folder was generated for (its prompts.jsonl)."""
    path = Path(run) / "prompts.jsonl"
    if not path.is_file():
        raise PromptsError(f"{run}: not a drawbench run folder (no prompts.jsonl); write one with "
                           "`openimagen drawbench generate`")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [BenchPrompt(int(r["index"]), r["prompt"], r.get("category", "uncategorized"), r.get("spec"))
            for r in rows]


def setting_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """`name: X there, Y now` for every (nested, dotted name) setting whose value differs between two records."""
    changed = []
    for key in sorted(set(old) | set(new)):
        there, now = old.get(key), new.get(key)
        if isinstance(there, dict) and isinstance(now, dict):
            changed += setting_differences(there, now, f"{prefix}{key}.")
        elif there != now:
            changed.append(f"{prefix}{key}: {json.dumps(there)} there, {json.dumps(now)} now")
    return changed


def start_run(run: str | Path, prompts: list[BenchPrompt], record: dict[str, Any]) -> None:
    """Create the run folder (or check that an existing one was made with the same prompts and recipe)."""
    run = Path(run)
    (run / "images").mkdir(parents=True, exist_ok=True)
    old_file = run / "run.json"
    if old_file.is_file():
        old = json.loads(old_file.read_text(encoding="utf-8"))
        changed = setting_differences(old, json.loads(json.dumps(record)))    # as stored: tuples are lists
        if changed:
            raise PromptsError(f"{run} holds a run with other settings: {'; '.join(changed)}; resume it with the "
                               "same options or choose another --out")
        if [p.to_dict() for p in read_run_prompts(run)] != [p.to_dict() for p in prompts]:
            raise PromptsError(f"{run} holds a run of other prompts; choose another --out")
        return
    write_text_atomic(run / "prompts.jsonl", "".join(json.dumps(p.to_dict()) + "\n" for p in prompts))
    write_text_atomic(old_file, json.dumps(record, indent=2, sort_keys=True) + "\n")
