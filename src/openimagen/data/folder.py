"""Source 1: a folder (searched recursively) of images with same-stem `.txt` captions."""
from __future__ import annotations

import os

from openimagen.files import NotUtf8Error, read_utf8

from .captions import clean_caption
from .indexed import Sample
from .skips import SkipReport

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def read_caption(path: str) -> str:
    """A caption file's text on one line (`clean_caption`: no BOM, CRLF and other whitespace runs made one space);
    NotUtf8Error if it is not UTF-8 (never silently altered)."""
    return clean_caption(read_utf8(path))


def scan_folder(root: str, report: SkipReport | None = None) -> list[Sample]:
    """All images under `root` (sorted, recursive) that have a caption `<stem>.txt` beside them.

    Images without a caption file are skipped and counted in `report` ("no_caption"), as are those whose caption
    is not UTF-8 ("caption_not_utf8") or empty ("empty_caption": the trainer drops captions for guidance itself).
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
            try:
                caption = read_caption(os.path.join(directory, stem + ".txt"))
            except NotUtf8Error as error:
                if report is not None:
                    report.record(path, "caption_not_utf8", str(error))
                continue
            if not caption:
                if report is not None:
                    report.record(path, "empty_caption", f"{stem}.txt is empty; write the caption in it")
                continue
            samples.append(Sample(path=path, caption=caption, key=key))
    return samples
