"""Small file helpers shared across the package: the default mode for files written atomically, and reading text
that must be UTF-8 with an error naming the file, line and byte when it is not."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["give_default_mode", "NotUtf8Error", "decode_utf8", "read_utf8"]


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
