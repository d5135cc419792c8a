"""Per-example weights from a manifest column (Imagen 2's aesthetic weighting): a score per example becomes a loss
weight (mean 1 over the data, so the loss keeps its scale) or a sampling probability (examples drawn with
replacement in proportion to it)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from openimagen.config import ConfigError, check_choice, check_positive

__all__ = ["ExampleWeight", "weight_summary", "parse_score"]

MODES = ("loss", "sampling")


@dataclass
class ExampleWeight:
    """`train.example_weight = {field = "aesthetic", mode = "loss"}`: weight = max(score ** power, floor)."""

    field: str                                    # the manifest column (CSV) or key (JSONL): a number >= 0 per row
    mode: Literal["loss", "sampling"] = "loss"    # loss: loss x weight (mean 1); sampling: P(draw) ~ weight
    power: float = 1.0                            # sharpen (> 1) or soften (< 1) the scores; 0 = all equal
    floor: float = 0.0                            # the smallest weight (> 0 keeps every example in play)
    default: float | None = None                  # the score of a row without the field; None = an error

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field or self.field in ("path", "caption"):
            raise ConfigError(f"train.example_weight.field: a manifest column other than path/caption, "
                              f"got {self.field!r}")
        check_choice("train.example_weight.mode", self.mode, MODES)
        check_positive("train.example_weight.power", self.power, allow_zero=True)
        check_positive("train.example_weight.floor", self.floor, allow_zero=True)
        if self.default is not None:
            check_positive("train.example_weight.default", self.default, allow_zero=True)

    def weights(self, scores: np.ndarray) -> np.ndarray:
        """Loss weights with mean 1 ("loss") or probabilities summing to 1 ("sampling"), one per score."""
        raw = np.maximum(np.asarray(scores, dtype=np.float64) ** self.power, self.floor)
        if not raw.sum() > 0:
            raise ValueError(f"every example has weight 0 (field {self.field!r}); raise train.example_weight.floor")
        return raw / (raw.mean() if self.mode == "loss" else raw.sum())


def parse_score(value, field: str, default: float | None, where: str) -> float:
    """A row's score: a finite number >= 0 (a CSV string is parsed), or `default` when the row lacks it."""
    if value is None or value == "":
        if default is None:
            raise ValueError(f"{where}: no {field!r} value (set train.example_weight.default for such rows)")
        return float(default)
    try:
        score = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        score = math.nan
    if not math.isfinite(score) or score < 0:
        raise ValueError(f"{where}: {field!r} must be a finite number >= 0, got {value!r}")
    return score


def weight_summary(weights: np.ndarray) -> dict:
    """What a run logs about its weights: count, min/mean/max, the effective number of examples (Kish:
    (sum w)^2 / sum w^2) and a 10-bin histogram."""
    w = np.asarray(weights, dtype=np.float64)
    counts, edges = np.histogram(w, bins=10)
    return {"count": int(w.size), "min": float(w.min()), "mean": float(w.mean()), "max": float(w.max()),
            "effective_examples": float(w.sum() ** 2 / (w**2).sum()),
            "histogram": {"counts": counts.tolist(), "edges": [float(e) for e in edges]}}
