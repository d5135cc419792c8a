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


Bounds = tuple[tuple[float, float], tuple[float, float]]      # ((x_lo, x_hi), (y_lo, y_hi))


def position_bounds(position: str | None, side: float) -> Bounds:
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


def _clearance(cx: float, cy: float, side: float, other: Placed) -> float:
    """Free space between the box of `side` centred at (cx, cy) and `other` (negative if they overlap)."""
    reach = (side + other.side) / 2
    return max(abs(cx - other.cx) - reach, abs(cy - other.cy) - reach)


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """rng.uniform(low, high), bit for bit (numpy draws low + (high - low) * u), at a third of its call overhead."""
    return low + (high - low) * rng.random()


def _propose(rng: np.random.Generator, spec: Spec, group: int, bounds: Bounds,
             placed: dict[int, Placed]) -> tuple[float, float]:
    for i, relation, j in spec.relations:
        if group in (i, j) and (j if group == i else i) in placed:
            other = placed[j if group == i else i]
            axis, sign = relation_axis(relation)
            sign = sign if group == j else -sign
            offset = _uniform(rng, RELATION_RENDER["min_offset"], 0.65)
            centre = [other.cx, other.cy]
            centre[axis] += sign * offset
            centre[1 - axis] += _uniform(rng, -1, 1) * RELATION_RENDER["max_cross_ratio"] * offset
            return centre[0], centre[1]
    (x0, x1), (y0, y1) = bounds
    return _uniform(rng, x0, x1), _uniform(rng, y0, y1)


def _fits(spec: Spec, group: int, centre: tuple[float, float], side: float, bounds: Bounds,
          placed: dict[int, Placed], others: list[Placed]) -> bool:
    """Whether an object of `group` and `side` at `centre` keeps its bounds, its gap to `others` and its relations
    (plain numbers: most proposals fail, so no `Placed` is made for them)."""
    (x0, x1), (y0, y1) = bounds
    cx, cy = centre
    if not (x0 <= cx <= x1 and y0 <= cy <= y1):
        return False
    for other in others:
        if _clearance(cx, cy, side, other) < GAP:
            return False
    for i, relation, j in spec.relations:
        if group in (i, j) and (j if group == i else i) in placed:
            a = centre if group == i else (placed[i].cx, placed[i].cy)
            b = centre if group == j else (placed[j].cx, placed[j].cy)
            if not relation_holds(a, b, relation, **RELATION_RENDER):
                return False
    return True


def _try_layout(spec: Spec, sizes: list[str], rng: np.random.Generator) -> list[Placed] | None:
    order = sorted(range(len(spec.objects)), key=lambda g: (spec.objects[g].position is None, g))
    placed: dict[int, Placed] = {}     # single objects by group, for relations
    objects: list[Placed] = []
    for group in order:
        spec_group = spec.objects[group]
        side = OBJECT_SIDE[sizes[group]]
        bounds = position_bounds(spec_group.position, side)
        for _ in range(spec_group.count):
            fitting = []
            for _ in range(_TRIES_PER_OBJECT):
                centre = _propose(rng, spec, group, bounds, placed)
                if _fits(spec, group, centre, side, bounds, placed, objects):
                    fitting.append(Placed(group, spec_group.shape, spec_group.color, sizes[group], *centre, side))
                    if len(fitting) == _CANDIDATES:
                        break
            if not fitting:
                return None
            # Best of a few candidates (most clearance): packs crowded scenes without a fixed grid.
            obj = max(fitting, key=lambda o: min((_clearance(o.cx, o.cy, o.side, other) for other in objects),
                                                default=0.0))
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
