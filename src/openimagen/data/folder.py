"""Source 1: a folder (searched recursively) of images with same-stem `.txt` captions."""
from __future__ import annotations

import os
import unicodedata

from openimagen.files import NotUtf8Error, read_utf8

from .captions import clean_caption
from .indexed import Sample
from .skips import SkipReport

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def read_caption(path: str) -> str:
    """A caption file's text on one line (`clean_caption`: no BOM, CRLF and other whitespace runs made one space);
    NotUtf8Error if it is not UTF-8 (never silently altered)."""
    return clean_caption(read_utf8(path))


def _same_name(name: str) -> str:
    """`name` as compared between an image and its caption: Unicode NFC (macOS writes NFD names, so an image and its
    caption copied by different tools may spell "é" differently)."""
    return unicodedata.normalize("NFC", name)


def caption_files(files: list[str]) -> dict[str, str]:
    """{stem: caption file name} of the `.txt` files among `files` (extension in any case, `.txt` preferred)."""
    found: dict[str, str] = {}
    for name in sorted(files, key=lambda n: n.endswith(".txt")):     # exact ".txt" last: it wins
        stem, ext = os.path.splitext(name)
        if ext.lower() == ".txt":
            found[_same_name(stem)] = name
    return found


def _caption_beside(directory: str, stem: str, captions: dict[str, str]) -> tuple[str | None, tuple[str, str]]:
    """The caption `<stem>.txt` in `directory` (`captions`: see `caption_files`), or None and why not (skip reason,
    detail)."""
    name = captions.get(_same_name(stem))
    if name is None:
        return None, ("no_caption", f"expected {stem}.txt beside it")
    try:
        caption = read_caption(os.path.join(directory, name))
    except NotUtf8Error as error:
        return None, ("caption_not_utf8", str(error))
    except OSError as error:                       # a dangling link, no permission, ...
        return None, ("unreadable_caption", f"{name}: {error.strerror or error}")
    if not caption:
        return None, ("empty_caption", f"{name} is empty; write the caption in it")
    return caption, ("", "")


def scan_folder(root: str, report: SkipReport | None = None) -> list[Sample]:
    """All images under `root` (sorted, recursive, following links) that have a caption `<stem>.txt` beside them.

    Images without a caption file are skipped and counted in `report` ("no_caption"), as are those whose caption
    is not UTF-8 ("caption_not_utf8"), cannot be read ("unreadable_caption") or is empty ("empty_caption": the
    trainer drops captions for guidance itself). A folder reached again through a link (a loop, or an alias of a
    folder already read) is read once ("duplicate"); one that cannot be listed is "unreadable_folder".
    Keys are the relative paths without extension, e.g. "cats/0001".
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"image folder {root!r} does not exist or is not a directory")
    report = SkipReport() if report is None else report
    samples, first_visit = [], {}

    def unlistable(error: OSError) -> None:
        report.record(error.filename or root, "unreadable_folder", error.strerror or str(error))

    for directory, subdirs, files in os.walk(root, onerror=unlistable, followlinks=True):
        real = os.path.realpath(directory)
        if real in first_visit:
            report.record(directory, "duplicate", f"a link to {first_visit[real]}, read once")
            subdirs.clear()
            continue
        first_visit[real] = directory
        subdirs.sort()
        captions = caption_files(files)
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in IMAGE_EXTENSIONS:
                continue
            path = os.path.join(directory, name)
            caption, (reason, detail) = _caption_beside(directory, stem, captions)
            if caption is None:
                report.record(path, reason, detail)
                continue
            key = os.path.relpath(os.path.join(directory, stem), root).replace(os.sep, "/")
            samples.append(Sample(path=path, caption=caption, key=key))
    return samples
