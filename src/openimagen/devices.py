"""The one check of a user's `device` argument: a device torch knows and this machine has."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_device"]


def check_device(device: Any) -> torch.device:
    """`device` as a torch.device that exists on this machine; a ValueError / TypeError naming it else."""
    if isinstance(device, torch.dtype):
        raise TypeError(f"device must be a device such as 'cpu' or 'cuda', got the dtype {device} (the networks "
                        "compute in float32)")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device such as 'cpu', 'cuda', 'cuda:1' or 'mps', "
                         f"got {device!r}") from None
    available = {"cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
                 "mps": torch.backends.mps.is_available()}.get(device.type, True)
    if not available:
        raise ValueError(f"device {str(device)!r} is not available on this machine; use 'cpu'")
    return device
