"""Source 1: a folder (searched recursively) of images with same-stem `.txt` captions."""
from __future__ import annotations

import os

from .indexed import Sample
from .skips import SkipReport

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def read_caption(path: str) -> str:
    """A caption file's text, whitespace-stripped (invalid UTF-8 bytes replaced, never fatal)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().strip()


def scan_folder(root: str, report: SkipReport | None = None) -> list[Sample]:
    """All images under `root` (sorted, recursive) that have a caption `<stem>.txt` beside them.

    Images without a caption file are skipped and counted in `report` ("no_caption").
    Keys are the relative paths without extension, e.g. "cats/0001".
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"image folder {root!r} does not exist or is not a directory")
    samples = []
    for directory, subdirs, files in os.walk(root, followlinks=True):
        subdirs.sort()
        names = set(files)
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in IMAGE_EXTENSIONS:
                continue
            path = os.path.join(directory, name)
            if stem + ".txt" not in names:
                if report is not None:
                    report.record(path, "no_caption", f"expected {stem}.txt beside it")
                continue
            key = os.path.relpath(os.path.join(directory, stem), root).replace(os.sep, "/")
            samples.append(Sample(path=path, caption=read_caption(os.path.join(directory, stem + ".txt")), key=key))
    return samples
