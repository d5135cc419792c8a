"""Full tensors <-> FSDP2 shards, so checkpoints always hold full tensors.

Under FSDP2 (`fully_shard`, what `accelerate launch --use_fsdp --fsdp_version 2` applies) the parameters, their EMA and
Adam's moments are DTensors: each process holds one slice. A checkpoint stores the full tensors under the usual names,
so it can be resumed with FSDP, DDP or one process alike and exported as it is. Plain tensors (DDP, one process) pass
through both functions untouched.
"""

from __future__ import annotations

from typing import Mapping

import torch

try:  # public since torch 2.5 (FSDP2 through Accelerate needs 2.6)
    from torch.distributed.tensor import DTensor, distribute_tensor
except ImportError:  # an older torch, or one built without torch.distributed: nothing is ever sharded
    DTensor, distribute_tensor = (), None   # isinstance(x, ()) is always False

__all__ = ["gather_full", "shard_like"]


def gather_full(tensors: Mapping[str, torch.Tensor], keep: bool) -> dict[str, torch.Tensor]:
    """Full copies of `tensors`, kept only where `keep` (the main process that writes them), each gathered shard moved
    to the CPU at once. Gathering is a collective: every process calls this with the same names in the same order."""
    full = {}
    for name, value in tensors.items():
        if isinstance(value, DTensor):
            value = value.full_tensor()   # every process joins the all-gather
            value = value.cpu() if keep else None
        if keep:
            full[name] = value
    return full


def shard_like(full: Mapping[str, torch.Tensor], like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`full` with each tensor split like the DTensor of the same name and shape in `like` (every process passes the
    same `full`; a collective when there is a DTensor); the others (plain, or a different shape such as Adam's step
    count) unchanged."""
    sharded = {}
    for name, value in full.items():
        target = like.get(name)
        if isinstance(target, DTensor) and target.shape == value.shape:
            value = distribute_tensor(value, target.device_mesh, target.placements)
        sharded[name] = value
    return sharded
