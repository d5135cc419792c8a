"""Placing a spec's objects on the unit canvas: no overlaps, positions and relations with a clear margin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openimagen.data.shapes.spec import Spec, SpecError
from openimagen.data.shapes.vocab import (BORDER, GAP, OBJECT_SIDE, POSITION_RENDER, RELATION_RENDER,
                                          relation_axis)

_TRIES_PER_OBJECT = 100
_RESTARTS = 60
_CANDIDATES = 4


@dataclass(frozen=True)
class Placed:
    """One drawn object: its group in the spec and its bounding box (centre and side) in unit coordinates."""

    group: int
    shape: str
    color: str
    size: str
    cx: float
    cy: float
    side: float


def position_bounds(position: str | None, side: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """((x_lo, x_hi), (y_lo, y_hi)) allowed for the centre of an object of `side` at an absolute position."""
    lo, hi = BORDER + side / 2, 1 - BORDER - side / 2
    near, mid = POSITION_RENDER["side"], POSITION_RENDER["center"]
    x, y = (lo, hi), (lo, hi)
    if position == "left":
        x = (lo, near)
    elif position == "right":
        x = (1 - near, hi)
    elif position == "top":
        y = (lo, near)
    elif position == "bottom":
        y = (1 - near, hi)
    elif position == "center":
        x = y = (0.5 - mid, 0.5 + mid)
    return x, y


def relation_holds(ci: tuple[float, float], cj: tuple[float, float], relation: str,
                   min_offset: float, max_cross_ratio: float) -> bool:
    """`i <relation> j` for centres ci, cj: offset along the relation's axis >= min_offset and dominant."""
    axis, sign = relation_axis(relation)
    along = sign * (cj[axis] - ci[axis])
    cross = abs(cj[1 - axis] - ci[1 - axis])
    return along >= min_offset and cross <= max_cross_ratio * along


def _separated(a: Placed, b: Placed) -> bool:
    return _clearance(a, b) >= GAP


def _clearance(a: Placed, b: Placed) -> float:
    reach = (a.side + b.side) / 2
    return max(abs(a.cx - b.cx) - reach, abs(a.cy - b.cy) - reach)


def _propose(rng: np.random.Generator, spec: Spec, group: int, side: float,
             placed: dict[int, Placed]) -> tuple[float, float]:
    for i, relation, j in spec.relations:
        if group in (i, j) and (j if group == i else i) in placed:
            other = placed[j if group == i else i]
            axis, sign = relation_axis(relation)
            sign = sign if group == j else -sign
            offset = rng.uniform(RELATION_RENDER["min_offset"], 0.65)
            centre = [other.cx, other.cy]
            centre[axis] += sign * offset
            centre[1 - axis] += rng.uniform(-1, 1) * RELATION_RENDER["max_cross_ratio"] * offset
            return centre[0], centre[1]
    (x0, x1), (y0, y1) = position_bounds(spec.objects[group].position, side)
    return rng.uniform(x0, x1), rng.uniform(y0, y1)


def _fits(spec: Spec, obj: Placed, placed: dict[int, Placed], others: list[Placed]) -> bool:
    (x0, x1), (y0, y1) = position_bounds(spec.objects[obj.group].position, obj.side)
    if not (x0 <= obj.cx <= x1 and y0 <= obj.cy <= y1):
        return False
    if not all(_separated(obj, other) for other in others):
        return False
    for i, relation, j in spec.relations:
        if obj.group in (i, j) and (j if obj.group == i else i) in placed:
            a = obj if obj.group == i else placed[i]
            b = obj if obj.group == j else placed[j]
            if not relation_holds((a.cx, a.cy), (b.cx, b.cy), relation, **RELATION_RENDER):
                return False
    return True


def _try_layout(spec: Spec, sizes: list[str], rng: np.random.Generator) -> list[Placed] | None:
    order = sorted(range(len(spec.objects)), key=lambda g: (spec.objects[g].position is None, g))
    placed: dict[int, Placed] = {}     # single objects by group, for relations
    objects: list[Placed] = []
    for group in order:
        spec_group = spec.objects[group]
        side = OBJECT_SIDE[sizes[group]]
        for _ in range(spec_group.count):
            fitting = []
            for _ in range(_TRIES_PER_OBJECT):
                cx, cy = _propose(rng, spec, group, side, placed)
                obj = Placed(group, spec_group.shape, spec_group.color, sizes[group], cx, cy, side)
                if _fits(spec, obj, placed, objects):
                    fitting.append(obj)
                    if len(fitting) == _CANDIDATES:
                        break
            if not fitting:
                return None
            # Best of a few candidates (most clearance): packs crowded scenes without a fixed grid.
            obj = max(fitting, key=lambda o: min((_clearance(o, other) for other in objects), default=0.0))
            objects.append(obj)
            if spec_group.count == 1:
                placed[group] = obj
    return objects


def layout(spec: Spec, rng: np.random.Generator) -> list[Placed]:
    """Random placement satisfying the spec (deterministic given rng); SpecError if it cannot be laid out."""
    p_large = 0.5 if spec.num_objects <= 3 else 0.2
    sizes = [g.size or ("large" if rng.random() < p_large else "small") for g in spec.objects]
    for attempt in range(_RESTARTS):
        if attempt == _RESTARTS // 2:   # free sizes were too big: make them small
            sizes = [g.size or "small" for g in spec.objects]
        objects = _try_layout(spec, sizes, rng)
        if objects is not None:
            return objects
    raise SpecError(f"spec {spec.prompt!r}: cannot place its objects without overlap "
                    "(too many large objects, or contradictory positions/relations)")
