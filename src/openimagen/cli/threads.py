"""torch's CPU thread count for the commands that compute: given, or chosen from the free cores.

torch's own default is one thread per core. On a shared CPU whose cores are busy, each extra thread waits for a
core (and OpenMP threads spin while they wait): one image took 4.6 s with 1 thread and 11-50 s with 2 on a loaded
2-core machine. So the default counts only the cores the load average leaves free (at least 1), and the CLI asks
OpenMP to sleep rather than spin while waiting (`OMP_WAIT_POLICY=PASSIVE`, set in `openimagen.cli.run`)."""

from __future__ import annotations

import os

__all__ = ["cpu_count", "default_threads", "set_threads"]


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask, e.g. under taskset or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                                   # macOS, Windows
        return os.cpu_count() or 1


def default_threads() -> int:
    """The cores not busy with other work: cores minus the 1-minute load average (rounded down), at least 1."""
    cores = cpu_count()
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):                        # Windows: no load average
        busy = 0
    return max(1, min(cores, cores - busy))


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads to `threads`, or to `default_threads()` when None; returns the count used."""
    import torch

    count = threads or default_threads()
    torch.set_num_threads(count)
    return count
