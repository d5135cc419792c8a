"""Preference rates with 95% confidence intervals (Wilson score intervals), per category and overall, for each
question: the share of answers preferring run A, indifferent, and preferring run B (they sum to 1).

Answers are treated as independent draws; several raters per prompt make them correlated, so with few prompts the
intervals are optimistic."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict

from openimagen.rate.store import ANSWERS, QUESTIONS

Z95 = 1.959963984540054


def wilson(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927); (0, 1) when total = 0."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


def preference_table(votes: list[dict]) -> list[dict]:
    """One row per (question, category) plus 'overall': counts, rates and 95% CIs of A / indifferent / B."""
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    categories: list[str] = []
    for vote in votes:
        if vote["category"] not in categories:
            categories.append(vote["category"])
        counts[vote["question"], vote["category"]][vote["answer"]] += 1
        counts[vote["question"], "overall"][vote["answer"]] += 1
    rows = []
    for question in QUESTIONS:
        for category in sorted(categories) + ["overall"]:
            counter = counts.get((question, category))
            if not counter:
                continue
            total = sum(counter.values())
            row = {"question": question, "category": category, "votes": total}
            for answer in ANSWERS:
                low, high = wilson(counter[answer], total)
                row.update({f"{answer}": counter[answer], f"{answer}_rate": counter[answer] / total,
                            f"{answer}_low": low, f"{answer}_high": high})
            rows.append(row)
    return rows


def table_csv(rows: list[dict]) -> str:
    columns = ["question", "category", "votes"] + [f"{a}{s}" for a in ANSWERS for s in ("", "_rate", "_low", "_high")]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


def votes_csv(votes: list[dict]) -> str:
    out = io.StringIO()
    columns = ["id", "rater", "prompt_index", "prompt", "category", "question", "answer", "left_run", "created"]
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(votes)
    return out.getvalue()


def format_table(rows: list[dict]) -> str:
    """Plain-text table for the terminal."""
    lines = [f"{'question':<10} {'category':<16} {'votes':>5}  {'prefer A (95% CI)':<22} {'indifferent':>11}  "
             f"{'prefer B (95% CI)':<22}"]
    for r in rows:
        lines.append(f"{r['question']:<10} {r['category'][:16]:<16} {r['votes']:>5}  "
                     f"{_pct(r, 'A'):<22} {100 * r['indifferent_rate']:>10.1f}%  {_pct(r, 'B'):<22}")
    return "\n".join(lines)


def _pct(row: dict, answer: str) -> str:
    return (f"{100 * row[answer + '_rate']:5.1f}% [{100 * row[answer + '_low']:.1f}, "
            f"{100 * row[answer + '_high']:.1f}]")
