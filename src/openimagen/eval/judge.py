"""The shapes-world judge: does an image show exactly what its spec says? (issue 6; DrawBench-style alignment).

The image is parsed into objects (`detect`), each detection is matched to the spec's object groups by
(shape, color) -- and by detected size when several groups share a shape and color -- and every requirement is
checked with the judge's (looser than the renderer's) margins from `vocab`. A group's missing object that a
left-over detection explains (same color but another shape, or same shape but another color) is reported as that
group's `shape` / `color` failure rather than as a miscount plus an extra object, so each error is named once.
A group with no object at all fails its shape, color and count checks alike.

Checks, always in this order and with these names for a given spec (so per-requirement rates can be averaged):
`objects[k].shape`, `objects[k].color`, `objects[k].count`, `objects[k].size` (if given),
`objects[k].position` (if given), `relations[r]`, `extra_objects`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from openimagen.data.shapes.layout import relation_holds
from openimagen.data.shapes.spec import ObjectGroup, Spec, as_spec
from openimagen.data.shapes.vocab import POSITION_JUDGE, RELATION_JUDGE
from openimagen.eval.detect import Detected, detect


@dataclass(frozen=True)
class Check:
    """One requirement of the spec: its name, whether it holds, what the spec wants and what the image shows."""

    name: str
    passed: bool
    expected: Any
    found: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "expected": self.expected, "found": self.found}


@dataclass(frozen=True)
class JudgeResult:
    passed: bool
    category: str
    checks: list[Check]
    detected: list[Detected] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "category": self.category, "checks": [c.to_dict() for c in self.checks],
                "detected": [d.to_dict() for d in self.detected]}


def position_ok(position: str, cx: float, cy: float) -> bool:
    """Centre (unit coordinates, y down) inside the judge's bounds for an absolute position."""
    side, centre = POSITION_JUDGE["side"], POSITION_JUDGE["center"]
    return {"left": cx <= side, "right": cx >= 1 - side, "top": cy <= side, "bottom": cy >= 1 - side,
            "center": abs(cx - 0.5) <= centre and abs(cy - 0.5) <= centre}[position]


def _describe(d: Detected) -> str:
    return f"{d.size} {d.color} {d.shape} at ({d.cx:.2f}, {d.cy:.2f})"


def _match(groups: tuple[ObjectGroup, ...], found: list[Detected]) -> tuple[list[list[Detected]], list[Detected]]:
    """Exact matches per group (same shape and color; by size among groups sharing both), and the left-overs."""
    matched: list[list[Detected]] = [[] for _ in groups]
    leftover = []
    for d in found:
        same = [k for k, g in enumerate(groups) if (g.shape, g.color) == (d.shape, d.color)]
        if len(same) > 1:   # validation guarantees these groups give different sizes
            same = [k for k in same if groups[k].size == d.size]
        if same:
            matched[same[0]].append(d)
        else:
            leftover.append(d)
    return matched, leftover


def _explain(group: ObjectGroup, missing: int, leftover: list[Detected]) -> tuple[list[Detected], list[Detected]]:
    """Up to `missing` left-overs that differ from the group in exactly one of shape, color (same size preferred)."""
    candidates = [d for d in leftover if (d.shape == group.shape) != (d.color == group.color)]
    candidates.sort(key=lambda d: group.size is not None and d.size != group.size)
    taken = candidates[:max(missing, 0)]
    return taken, [d for d in leftover if all(d is not t for t in taken)]


def judge(image: Image.Image | np.ndarray, spec: Spec | dict[str, Any]) -> JudgeResult:
    """Judge `image` (PIL image, or float array [H, W, 3] in [0, 1]) against `spec` (a Spec or its dict)."""
    spec = as_spec(spec)
    found = detect(image)
    matched, leftover = _match(spec.objects, found)
    checks: list[Check] = []
    instances: list[list[Detected]] = []
    for k, group in enumerate(spec.objects):
        name = f"objects[{k}]"
        explained, leftover = _explain(group, group.count - len(matched[k]), leftover)
        own = matched[k] + explained
        instances.append(own)
        for field_name in ("shape", "color"):
            values = [getattr(d, field_name) for d in own]
            wanted = getattr(group, field_name)
            checks.append(Check(f"{name}.{field_name}", bool(own) and all(v == wanted for v in values), wanted,
                                values))
        checks.append(Check(f"{name}.count", len(own) == group.count, group.count, len(own)))
        if group.size is not None:
            sizes = [d.size for d in own]
            checks.append(Check(f"{name}.size", bool(own) and all(s == group.size for s in sizes), group.size,
                                sizes))
        if group.position is not None:
            places = [[round(d.cx, 3), round(d.cy, 3)] for d in own]
            ok = bool(own) and all(position_ok(group.position, d.cx, d.cy) for d in own)
            checks.append(Check(f"{name}.position", ok, group.position, places))
    for r, (i, relation, j) in enumerate(spec.relations):
        expected = f"objects[{i}] {relation} objects[{j}]"
        if len(instances[i]) == 1 and len(instances[j]) == 1:
            a, b = instances[i][0], instances[j][0]
            ok = relation_holds((a.cx, a.cy), (b.cx, b.cy), relation, **RELATION_JUDGE)
            checks.append(Check(f"relations[{r}]", ok, expected, [[round(a.cx, 3), round(a.cy, 3)],
                                                                  [round(b.cx, 3), round(b.cy, 3)]]))
        else:
            checks.append(Check(f"relations[{r}]", False, expected,
                                f"needs one object each, found {len(instances[i])} and {len(instances[j])}"))
    checks.append(Check("extra_objects", not leftover, [], [_describe(d) for d in leftover]))
    return JudgeResult(all(c.passed for c in checks), spec.category, checks, found)
