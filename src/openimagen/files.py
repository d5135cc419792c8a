"""File-mode fix for atomic writes: `tempfile.mkstemp` (and safetensors) create files readable by their owner only
(0600); a PNG, prompts file or model folder a user asked for should get the usual mode (0666 minus the umask)."""

from __future__ import annotations

import os


def default_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def give_default_mode(path: str | os.PathLike) -> None:
    os.chmod(path, default_file_mode())
