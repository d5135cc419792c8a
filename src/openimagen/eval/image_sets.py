"""Image sets for the metrics: every image under a folder, or (image, caption) pairs from a manifest or from
same-stem `.txt` files, and loading them as RGB with an error that names the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from openimagen.data.folder import IMAGE_EXTENSIONS, scan_folder
from openimagen.data.manifest import read_manifest
from openimagen.data.skips import SkipReport


class ImageSetError(ValueError):
    """An image set that cannot be read: the message names the folder or file and what is wrong."""


def list_images(folder: str | Path) -> list[Path]:
    """Every image file under `folder` (recursive, sorted; hidden files and folders skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageSetError(f"{folder}: no such folder")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not paths:
        raise ImageSetError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) in it or its subfolders")
    return paths


def load_rgb(path: str | Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise ImageSetError(f"{path}: not a readable image ({error})") from error


def captioned_images(images: str | Path, captions: str | Path | None = None) -> list[tuple[Path, str]]:
    """(image path, caption) pairs: from `captions` (a .jsonl/.csv manifest with `path` and `caption`; relative paths
    are looked up in `images` first, then beside the manifest), from a `drawbench generate` run folder (its
    prompts.jsonl), or from `<stem>.txt` files beside the images."""
    images = Path(images)
    if not images.is_dir():
        raise ImageSetError(f"{images}: no such folder")
    if captions is None and (images / "prompts.jsonl").is_file() and (images / "images").is_dir():
        return _run_folder_pairs(images)
    if captions is None:
        report = SkipReport(max_examples=10**6)
        pairs = [(Path(s.path), s.caption) for s in scan_folder(str(images), report)]
        if set(report.counts) - {"duplicate"}:         # an image met again (a link loop) is rightly scored once
            raise ImageSetError(unscorable_message(images, report, len(pairs)))
        if not pairs:
            raise ImageSetError(f"{images}: no images ({', '.join(IMAGE_EXTENSIONS)}) in it or its subfolders")
        return pairs
    try:
        samples = read_manifest(str(captions))
    except (OSError, ValueError) as error:
        raise ImageSetError(str(error)) from error
    pairs = []
    for sample in samples:
        relative = Path(sample.key + Path(sample.path).suffix)
        path = images / relative if not relative.is_absolute() and (images / relative).is_file() else Path(sample.path)
        if not path.is_file():
            raise ImageSetError(f"{captions}: the image {relative} is neither in {images} nor beside the manifest")
        pairs.append((path, sample.caption))
    if not pairs:
        raise ImageSetError(f"{captions}: no rows")
    return pairs


SKIP_REASONS = {"no_caption": "no .txt caption", "caption_not_utf8": "a caption that is not UTF-8",
                "empty_caption": "an empty caption", "unreadable_caption": "a caption that cannot be read",
                "unreadable_folder": "a folder that cannot be listed"}


def unscorable_message(images: Path, report: SkipReport, scored: int) -> str:
    """One line: how many images (or folders) cannot be scored and why, the first of them, and what to do (a
    score over the rest would silently measure another set)."""
    skipped = [example for example in report.examples if example[1] != "duplicate"]
    reasons = ", ".join(f"{count} with {SKIP_REASONS.get(reason, reason)}" for reason, count in
                        sorted(report.counts.items()) if reason != "duplicate")
    where, _, detail = skipped[0]
    return (f"{images}: {len(skipped)} of {scored + len(skipped)} images cannot be scored ({reasons}); the first: "
            f"{where} ({detail}); give every image a UTF-8 same-stem .txt caption, or pass a CAPTIONS manifest "
            "(.jsonl or .csv with the columns path, caption) of the images to score")


def _run_folder_pairs(run: Path) -> list[tuple[Path, str]]:
    """Every image of a `drawbench generate` run with its prompt (images/PPPP-K.png, prompts.jsonl)."""
    prompts = {}
    for line in (run / "prompts.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            prompts[int(row["index"])] = row["prompt"]
    pairs = []
    for path in sorted((run / "images").glob("*.png")):
        index = int(path.stem.split("-")[0]) if path.stem.split("-")[0].isdigit() else None
        if index in prompts:
            pairs.append((path, prompts[index]))
    if not pairs:
        raise ImageSetError(f"{run}: a run folder without images (expected images/PPPP-K.png)")
    return pairs


def batched_features(paths: Sequence[Path], extractor: Callable, batch_size: int = 64, desc: str = "features",
                     progress: bool = False) -> np.ndarray:
    """Features [N, D] (float64) of the images at `paths`, loaded `batch_size` at a time."""
    parts = []
    with tqdm(total=len(paths), unit="img", desc=desc, disable=not progress) as bar:
        for batch in _chunks(paths, batch_size):
            out = extractor([load_rgb(p) for p in batch])
            parts.append(np.asarray(out.detach().cpu() if hasattr(out, "detach") else out, dtype=np.float64))
            bar.update(len(batch))
    return np.concatenate(parts)


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
