"""Skipped-file accounting: corrupt, truncated or filtered inputs are counted, never fatal (issue 5, Data)."""
from __future__ import annotations

from dataclasses import dataclass, field


class DataError(RuntimeError):
    """The data source cannot feed training (e.g. no readable sample in a long run of draws)."""


class SkipSample(Exception):
    """Raised while loading one sample that must be skipped; `reason` is a short category."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class SkipReport:
    """How many inputs were skipped, why, and which (the first `max_examples` of them).

    Each input (path or shard#key) is counted once even if a repeating stream meets it every epoch.
    """

    max_examples: int = 10
    counts: dict[str, int] = field(default_factory=dict)              # reason -> distinct inputs
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (where, reason, detail)
    _seen: set[str] = field(default_factory=set, repr=False)

    def record(self, where: str, reason: str, detail: str = "") -> bool:
        """Count one skipped input; returns False if `where` was already counted."""
        if where in self._seen:
            return False
        self._seen.add(where)
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if len(self.examples) < self.max_examples:
            self.examples.append((where, reason, detail))
        return True

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __len__(self) -> int:
        return self.total

    def summary(self) -> str:
        """One human-readable paragraph: totals per reason and the first few inputs."""
        if not self.total:
            return "skipped 0 inputs"
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.counts.items()))
        lines = [f"skipped {self.total} inputs ({reasons}); first {len(self.examples)}:"]
        lines += [f"  {where}: {reason}" + (f" ({detail})" if detail else "") for where, reason, detail in self.examples]
        return "\n".join(lines)

    def examples_line(self, count: int = 3) -> str:
        """The first `count` skipped inputs and why (reason: detail), on one line."""
        return "; ".join(f"{where} ({reason}: {detail})" if detail else f"{where} ({reason})"
                         for where, reason, detail in self.examples[:count])

    def to_dict(self) -> dict:
        return {"total": self.total, "counts": dict(self.counts), "examples": [list(e) for e in self.examples]}
