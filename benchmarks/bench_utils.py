"""Timing helpers for the network benchmark: interleaved repeats, medians, saved-activation memory, FLOPs."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def interleaved_medians(fns: dict[str, Callable[[], None]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each fn, timed round-robin (A B C A B C ...) so that load from other
    processes on a shared machine hits every candidate alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def saved_activation_bytes(forward: Callable[[], torch.Tensor]) -> int:
    """Bytes of distinct tensors autograd keeps for backward during forward(): the activation memory of a
    training step (CPU has no peak-allocation counter, so we measure what backward holds on to)."""
    storages = {}

    def pack(t: torch.Tensor):
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    del out
    return sum(storages.values())


def training_memory_bytes(net: torch.nn.Module, forward: Callable[[], torch.Tensor]) -> int:
    """Saved activations + fp32 params, grads and two AdamW moments."""
    params = sum(p.numel() for p in net.parameters()) * 4
    return saved_activation_bytes(forward) + 4 * params


def step_flops(step: Callable[[], None]) -> int:
    """FLOPs of one call (forward and backward matmuls/convs/attention), counted by torch's FlopCounterMode."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def top_ops(step: Callable[[], None], k: int = 8, calls: int = 2) -> list[tuple[str, float]]:
    """(op name, share of self CPU time) of the k most expensive ops over a few calls, by torch.profiler."""
    from torch.profiler import profile
    step()
    with profile() as prof:
        for _ in range(calls):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [(e.key, e.self_cpu_time_total / total) for e in events[:k]]
