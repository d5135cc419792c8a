"""The Accelerator a training launch runs on: CUDA or CPU, one process or many (DDP or FSDP on gloo), and the
mixed precision this machine really supports."""

from __future__ import annotations

import os

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DistributedType

__all__ = ["make_accelerator", "cpu_has_fast_bf16"]

logger = get_logger(__name__)


def make_accelerator(mixed_precision: str = "no") -> Accelerator:
    """An Accelerator for this launch. Without CUDA, a multi-process launch (accelerate launch / torchrun set
    WORLD_SIZE) runs as multi-CPU DDP on gloo; Accelerate needs `cpu=True` to see it, and FSDP switched on by hand."""
    multi_process = int(os.environ.get("WORLD_SIZE", "1")) > 1
    cpu = multi_process and not torch.cuda.is_available()
    accelerator = Accelerator(mixed_precision=mixed_precision, cpu=cpu)
    if cpu and os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        _fsdp_on_cpu(accelerator, mixed_precision)
    if mixed_precision != "no" and not accelerator.native_amp:
        logger.warning(f"mixed_precision={mixed_precision!r} is not available on {accelerator.device}; training in "
                       "fp32 (on CPU use 'bf16')")
    elif mixed_precision == "bf16" and accelerator.device.type == "cpu" and not cpu_has_fast_bf16():
        logger.warning(f"mixed_precision='bf16' on a CPU without native bf16 ({torch.backends.cpu.get_cpu_capability()}"
                       "): convolutions run many times slower than fp32 here; set train.mixed_precision = 'no'")
    return accelerator


def _fsdp_on_cpu(accelerator: Accelerator, mixed_precision: str) -> None:
    """Accelerate (1.15) turns FSDP on only for accelerator devices: on CPU it silently wraps the model in DDP instead.
    Switch the state to FSDP with the launch's plugin (read from the FSDP_* variables `accelerate launch --use_fsdp`
    sets), so FSDP shards on gloo as it does on NCCL; that is how it is tested (tests/test_train_subprocess.py)."""
    from accelerate.state import PartialState
    from accelerate.utils import FullyShardedDataParallelPlugin

    plugin = FullyShardedDataParallelPlugin()
    if mixed_precision != "no":
        plugin.set_mixed_precision(mixed_precision)
    accelerator.state.fsdp_plugin = plugin
    accelerator.state.distributed_type = PartialState._shared_state["distributed_type"] = DistributedType.FSDP


def cpu_has_fast_bf16() -> bool:
    """bf16 matmuls/convolutions are fast on CPUs with AVX-512 bf16 or AMX; elsewhere they are emulated (~25x slower
    convolutions). oneDNN's own check: `get_cpu_capability()` says "AVX512" with or without the bf16 extension."""
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()
