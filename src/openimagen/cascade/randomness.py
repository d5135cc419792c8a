"""Per-sample random streams keyed by (seed, global sample index).

Every random draw of a training sample (caption dropout, t, noise, aug level, aug noise, crop) comes from a
generator seeded by the sample's global index in the run. The numbers a sample gets are then the same on 1 or N
processes, with or without gradient accumulation, and after a resume: no RNG state has to travel between ranks.
"""

from __future__ import annotations

import torch

__all__ = ["SampleRandom", "mix_seed"]

_MASK = (1 << 64) - 1


def mix_seed(*values: int) -> int:
    """SplitMix64 over the values: well-spread 63-bit seeds from small consecutive integers."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (int(value) & _MASK)) & _MASK
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        state = z ^ (z >> 31)
    return state >> 1


class SampleRandom:
    """One torch.Generator per sample; each call draws one value (or tensor) per sample, stacked on dim 0."""

    def __init__(self, seed: int, indices: torch.Tensor | list[int]) -> None:
        self.seed = seed
        self.indices = [int(i) for i in indices]
        self.generators = [torch.Generator().manual_seed(mix_seed(seed, i)) for i in self.indices]

    def uniform(self) -> torch.Tensor:
        """[b] ~ U(0, 1)."""
        return torch.stack([torch.rand((), generator=g) for g in self.generators])

    def normal(self, shape: tuple[int, ...] | torch.Size) -> torch.Tensor:
        """[b, *shape] ~ N(0, I)."""
        return torch.stack([torch.randn(tuple(shape), generator=g) for g in self.generators])

    def integers(self, high: int) -> torch.Tensor:
        """[b] uniform in {0, ..., high - 1}."""
        return torch.stack([torch.randint(high, (), generator=g) for g in self.generators])

    def stratified(self, group_size: int) -> torch.Tensor:
        """[b] low-discrepancy times (VDM App. I) over groups of `group_size` consecutive indices:
        t = (u_group + (index mod group_size) / group_size) mod 1, with one u per group."""
        offsets = []
        for index in self.indices:
            group = torch.Generator().manual_seed(mix_seed(self.seed, -1 - index // group_size))
            offsets.append(torch.rand((), generator=group) + (index % group_size) / group_size)
        return torch.stack(offsets) % 1.0
