"""Validating the judge (issue 6): accuracy on fresh renders, on degraded renders, rejection of mutated scenes, speed.

- accuracy: the judge passes a render of the spec itself (clean, and under each degradation separately: Gaussian
  blur sigma 0.7 px, Gaussian noise std 0.05, JPEG quality 50, a 1-px shift; and blur, noise and JPEG together)
  -- generated images are blurry and noisy;
- rejection: the judge fails a render of a *mutated* spec (one color, shape, count or relation changed).
Used at full size by scripts/validate_judge.py (results in docs/judge.md) and at reduced size by the tests.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from openimagen.data.shapes.render import render
from openimagen.data.shapes.spec import Spec, SpecError
from openimagen.data.shapes.vocab import CATEGORIES, COLORS, MAX_COUNT, RELATIONS, SHAPES
from openimagen.eval.detect import to_array
from openimagen.eval.judge import judge


def _blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0.7, 0.7, 0))


def _noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)


def _jpeg(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(np.round(x * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=50)
    return to_array(Image.open(buffer))


def _shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift by one pixel in a random one of the 8 directions; the uncovered border is white."""
    dy, dx = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)][int(rng.integers(8))]
    return ndimage.shift(x, (dy, dx, 0), order=0, mode="constant", cval=1.0)


def _combined(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _jpeg(_noise(_blur(x, rng), rng), rng)


# The four, each on its own, and (beyond the bars) the three image-quality ones at once.
DEGRADATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "blur": _blur, "noise": _noise, "jpeg": _jpeg, "shift": _shift, "blur+noise+jpeg": _combined}


def degrade(image: Image.Image | np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One degradation (a key of DEGRADATIONS) of an image; float array [H, W, 3] in [0, 1]."""
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; choose one of {list(DEGRADATIONS)}")
    return DEGRADATIONS[kind](to_array(image), rng)


MUTATIONS = ("color", "shape", "count", "relation")


def _mutate_once(spec: Spec, kind: str, rng: np.random.Generator) -> Spec:
    groups = list(spec.objects)
    if kind == "relation":
        r = int(rng.integers(len(spec.relations)))
        i, relation, j = spec.relations[r]
        new = str(rng.choice([x for x in RELATIONS if x != relation]))
        relations = list(spec.relations)
        relations[r] = (i, new, j)
        return replace(spec, relations=tuple(relations))
    k = int(rng.integers(len(groups)))
    group = groups[k]
    if kind == "color":
        groups[k] = replace(group, color=str(rng.choice([c for c in COLORS if c != group.color])))
    elif kind == "shape":
        groups[k] = replace(group, shape=str(rng.choice([s for s in SHAPES if s != group.shape])))
    else:
        groups[k] = replace(group, count=int(rng.choice([n for n in range(1, MAX_COUNT + 1) if n != group.count])))
    return replace(spec, objects=tuple(groups))


def mutate(spec: Spec, rng: np.random.Generator, kind: str | None = None) -> tuple[str, Spec]:
    """(kind, spec with one color, shape, count or relation changed); valid and drawable (checked at seed 0)."""
    kinds = [kind] if kind else [m for m in MUTATIONS if m != "relation" or spec.relations]
    for _ in range(1000):
        chosen = kinds[int(rng.integers(len(kinds)))]
        try:
            mutated = _mutate_once(spec, chosen, rng)    # `replace` re-validates the spec
            render(mutated, 16, seed=0)
            return chosen, mutated
        except SpecError:
            continue
    raise ValueError(f"no valid {kind or 'single'} mutation of spec {spec.prompt!r}")


def render_any(spec: Spec, size: int, seed: int) -> Image.Image:
    """Render with `seed`, or the next seeds if that layout fails (a crowded scene)."""
    for attempt in range(20):
        try:
            return render(spec, size, seed=seed + attempt * 7919)
        except SpecError:
            continue
    return render(spec, size, seed=seed)     # raises the layout error


def validation_specs(n: int, seed: int = 0) -> list[Spec]:
    """n random specs, categories in turn, alternately of the train and held-out splits (all color/shape combos)."""
    from openimagen.data.shapes.world import sample_spec

    rng = np.random.default_rng(seed)
    return [sample_spec(rng, CATEGORIES[k % len(CATEGORIES)], ("train", "heldout")[k // len(CATEGORIES) % 2])
            for k in range(n)]


@dataclass(frozen=True)
class Row:
    """One validation measurement: what fraction of `total` images the judge got right."""

    condition: str
    size: int
    correct: int
    total: int

    @property
    def rate(self) -> float:
        return self.correct / max(self.total, 1)


def validate(specs: list[Spec], sizes: tuple[int, ...] = (32, 64), seed: int = 0,
             on_fail: Callable[[str, int, int, Spec], None] | None = None,
             degradations: tuple[str, ...] = tuple(DEGRADATIONS)) -> list[Row]:
    """Accuracy (clean and each degradation: the judge passes) and rejection (mutations: it fails) per size."""
    rows = []
    for size in sizes:
        counts = {name: 0 for name in ("clean", *degradations, "mutation", *(f"mutation:{m}" for m in MUTATIONS))}
        totals = dict.fromkeys(counts, 0)
        for index, spec in enumerate(specs):
            rng = np.random.default_rng((seed, size, index))
            image = to_array(render_any(spec, size, seed + index))
            outcomes = {"clean": judge(image, spec).passed}
            for name in degradations:
                outcomes[name] = judge(degrade(image, name, rng), spec).passed
            kind, mutated = mutate(spec, rng)
            rejected = not judge(render_any(mutated, size, seed + index), spec).passed
            outcomes["mutation"] = outcomes[f"mutation:{kind}"] = rejected
            for name, ok in outcomes.items():
                counts[name] += ok
                totals[name] += 1
                if not ok and on_fail is not None:
                    on_fail(name, size, index, spec)
        rows += [Row(name, size, counts[name], totals[name]) for name in counts]
    return rows


def speed(specs: list[Spec], size: int = 64) -> float:
    """Images judged per second (rendering excluded) on the current thread."""
    images = [render_any(spec, size, index) for index, spec in enumerate(specs)]
    start = time.perf_counter()
    for image, spec in zip(images, specs):
        judge(image, spec)
    return len(specs) / (time.perf_counter() - start)
