"""File-mode fix for atomic writes: `tempfile.mkstemp` (and safetensors) create files readable by their owner only
(0600); a PNG, prompts file or model folder a user asked for should get the usual mode (0666 minus the umask)."""

from __future__ import annotations

import os


def give_default_mode(path: str | os.PathLike) -> None:
    mask = os.umask(0)   # reading the umask means setting it; restore it at once
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
