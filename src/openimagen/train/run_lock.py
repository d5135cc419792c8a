"""One trainer per run directory: an exclusive `fcntl.flock` on `<run_dir>/.lock`, released when the process ends
(even by SIGKILL), so a stale lock never blocks a rerun."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path

__all__ = ["RunLock", "RunLocked"]


class RunLocked(RuntimeError):
    """Another live process trains in this run directory."""


class RunLock:
    """`with RunLock(run_dir): ...` holds the lock; entering raises RunLocked naming the holder's pid and host."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLocked(f"{self.path.parent} is in use by another trainer ({holder}); stop it, or set another "
                            "train.output_dir") from None
        with contextlib.suppress(OSError):     # the holder's name is a courtesy: a full disk must not stop the run
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
