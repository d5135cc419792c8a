"""Small file helpers shared across the package: the one way a file is written atomically (a temporary file in the
same folder, then `os.replace`, so a reader or a killed run never sees half a file under its final name), the
default mode of those files, and reading text that must be UTF-8 with an error naming the file, line and byte."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic", "write_json_atomic", "save_image_atomic",
           "replace_directory", "probe_folder", "give_default_mode", "NotUtf8Error", "decode_utf8", "read_utf8"]


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """Yields a temporary path beside `path` for the caller to write; on success the file gets the default mode,
    (with `fsync`) reaches the disk, and replaces `path`; on any error it is removed and `path` is untouched."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")   # unique across hosts
    try:
        yield temporary
        give_default_mode(temporary)
        if fsync:
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, fsync: bool = False) -> None:
    with atomic_path(path, fsync) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str, fsync: bool = False) -> None:
    """UTF-8 text (the parent folder is created if missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode("utf-8"), fsync)


def write_json_atomic(path: str | os.PathLike, data: Any, fsync: bool = False, **dumps: Any) -> None:
    """JSON + newline. `dumps` go to `json.dumps` (indent, ...); NaN and Infinity are refused (they are not JSON)
    unless `allow_nan=True`."""
    write_text_atomic(path, json.dumps(data, **{"allow_nan": False, **dumps}) + "\n", fsync)


def save_image_atomic(image, path: str | os.PathLike, format: str = "PNG", **kwargs: Any) -> None:
    """A PIL image (`image.save(..., format, **kwargs)`: pnginfo, optimize, ...)."""
    with atomic_path(path) as temporary:
        image.save(temporary, format=format, **kwargs)


def replace_directory(tmp: Path, final: Path) -> None:
    """Rename the finished folder `tmp` to `final`, replacing a folder already there (moved aside first, then
    deleted), so `final` is at every moment either the old folder or the new one."""
    if final.exists():
        trash = final.with_name(f".trash-{final.name}-{os.getpid()}")
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)


def probe_folder(path: str | os.PathLike, create: bool = True) -> bool:
    """Write (and drop) a 4 KB probe file in folder `path`, made first with its parents if `create`, so a file in
    the way, a missing permission or a read-only or full disk is an OSError before any long work, not after it.
    True if this call created the folder."""
    path = Path(path)
    created = create and not path.exists()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path, prefix=".openimagen-probe-") as probe:
        probe.write(bytes(4096))
        probe.flush()
    return created


def give_default_mode(path: str | os.PathLike) -> None:
    """`tempfile.mkstemp` (and safetensors) create files readable by their owner only (0600); a PNG, prompts file
    or model folder a user asked for gets the usual mode (0666 minus the umask)."""
    mask = os.umask(0)   # reading the umask means setting it; restore it at once
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


class NotUtf8Error(ValueError):
    """Text that is not UTF-8; the message names where (file and line) and the first bad byte."""


def decode_utf8(data: bytes, where: str) -> str:
    """`data` as UTF-8 (never altered: no replacement characters); NotUtf8Error naming `where` and the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise NotUtf8Error(f"{where} line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); save it as "
                           "UTF-8") from None


def read_utf8(path: str | os.PathLike) -> str:
    return decode_utf8(Path(path).read_bytes(), str(path))
