"""Scenes of the shapes world: a spec sampler per DrawBench-like category, the splits, and an endless stream.

Splits are a pure function of the spec (`split_of`), so no evaluation prompt can ever reach training:
- "heldout": the scene uses a held-out (color, shape) combination or a held-out caption frame;
- "wording": otherwise, the prompt uses a held-out word or form (`synonyms.HELD_OUT_MARKERS`: other color names,
  shape nouns, size words, count/position/relation phrasings and sentence frames than training captions use);
- "eval": otherwise, when the md5 of the prompt falls in bucket 0 of 10 (in-distribution but never trained on);
- "train": everything else.
The fixed evaluation prompt files ship in `openimagen/assets/shapes/` (written by `python -m
openimagen.data.shapes.world`), so the benchmark stays the same when the grammar grows.
"""

from __future__ import annotations

import hashlib
import itertools
from importlib import resources
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from openimagen.data.shapes import captions as words
from openimagen.data.shapes.layout import layout
from openimagen.data.shapes.render import render
from openimagen.data.shapes.spec import ObjectGroup, Spec, SpecError, load_prompts, write_prompts
from openimagen.data.shapes.synonyms import held_out_wording
from openimagen.data.shapes.vocab import CATEGORIES, COLORS, POSITIONS, RELATIONS, SHAPES, SIZES

HELDOUT_COMBOS = frozenset({("green", "square"), ("purple", "circle"), ("orange", "triangle")})
ALL_COMBOS = tuple(itertools.product(COLORS, SHAPES))
TRAIN_COMBOS = tuple(c for c in ALL_COMBOS if c not in HELDOUT_COMBOS)
SPLITS = ("train", "eval", "heldout", "wording")
EVAL_BUCKETS = 10                      # 1 in 10 in-distribution prompts is reserved for evaluation
SHIPPED_SPLITS = {"eval": (30, 1), "heldout": (20, 2), "wording": (20, 3)}    # name -> (prompts per category, seed)


def uses_heldout_frame(prompt: str) -> bool:
    return any(prompt.startswith(f.split("{}")[0]) and prompt.endswith(f.split("{}")[1])
               for f in words.HELDOUT_FRAMES)


def split_of(spec: Spec) -> str:
    """Which split a spec belongs to (see the module docstring)."""
    if any((g.color, g.shape) in HELDOUT_COMBOS for g in spec.objects) or uses_heldout_frame(spec.prompt):
        return "heldout"
    if held_out_wording(spec.prompt):
        return "wording"
    bucket = int(hashlib.md5(spec.prompt.encode("utf-8")).hexdigest(), 16) % EVAL_BUCKETS
    return "eval" if bucket == 0 else "train"


def _combos(rng: np.random.Generator, pool: tuple, k: int, **fixed: str) -> list[tuple[str, str]]:
    """k distinct (color, shape) pairs from pool, optionally all of one color."""
    options = [c for c in pool if all(dict(color=c[0], shape=c[1])[key] == v for key, v in fixed.items())]
    return [options[i] for i in rng.choice(len(options), size=k, replace=False)]


def _singles(rng, pool, k, group=ObjectGroup, **kwargs) -> list[ObjectGroup]:
    return [group(shape, color) for color, shape in _combos(rng, pool, k, **kwargs)]


def _group_maker(rng: np.random.Generator, size_words: float):
    """ObjectGroup(shape, color, ...) that, with probability `size_words`, names a size the category leaves free
    (descriptive captions: the caption then says what the renderer would otherwise pick silently). Only single
    objects are named large: the layout's fallback of shrinking free sizes is gone once they are named."""
    def group(shape: str, color: str, count: int = 1, size: str | None = None, position: str | None = None):
        if size is None and size_words > 0 and rng.random() < size_words:
            size = "large" if count == 1 and rng.random() < 0.5 else "small"
        return ObjectGroup(shape, color, count=count, size=size, position=position)
    return group


def _scene(category: str, rng: np.random.Generator, pool: tuple, wording: bool = False,
           extra: bool = False, size_words: float = 0.0) -> tuple[list[ObjectGroup], list, str]:
    """(objects, relations, phrase) of a random scene of `category` (with held-out words if `wording`, with the
    extra training words if `extra`, naming free sizes with probability `size_words`)."""
    np_ = lambda g: words.noun_phrase(g, rng, wording=wording, extra=extra)  # noqa: E731
    group = _group_maker(rng, size_words)
    if category == "colors":
        objects = _singles(rng, pool, 1 + int(rng.random() < 0.5), group)
        return objects, [], words.join([np_(g) for g in objects], rng)
    if category == "shapes":
        color = words._pick(rng, sorted({c for c, _ in pool}))
        available = sum(1 for c, _ in pool if c == color)
        objects = _singles(rng, pool, int(rng.integers(1, available + 1)), group, color=color)
        phrase = words.same_color_phrase(objects, rng, wording, extra) if len(objects) > 1 else np_(objects[0])
        return objects, [], phrase
    if category == "counting":
        (color, shape), *rest = _combos(rng, pool, 2)
        objects = [group(shape, color, count=int(rng.integers(2, 5)))]
        if rng.random() < 0.4:
            objects.append(group(rest[0][1], rest[0][0], count=int(rng.integers(1, 3))))
        return objects, [], words.join([np_(g) for g in objects], rng)
    if category == "positional":
        objects = _singles(rng, pool, 2, group)
        relation = words._pick(rng, RELATIONS)
        phrase = words.relation_phrase(np_(objects[0]), relation, np_(objects[1]), rng, wording, extra)
        return objects, [(0, relation, 1)], phrase
    if category == "position":
        if rng.random() < 0.6:
            places = [words._pick(rng, POSITIONS)]
        else:
            places = list(words._pick(rng, [("left", "right"), ("top", "bottom")]))
            rng.shuffle(places)
        objects = [group(g.shape, g.color, position=p) for g, p in zip(_singles(rng, pool, len(places)), places)]
        return objects, [], words.join([np_(g) for g in objects], rng)
    if category == "sizes":
        sizes = ["small", "large"] if rng.random() < 0.7 else [words._pick(rng, SIZES) for _ in range(2)]
        rng.shuffle(sizes)
        if rng.random() < 0.3 and sizes[0] != sizes[1]:          # same object in two sizes
            (color, shape), = _combos(rng, pool, 1)
            objects = [ObjectGroup(shape, color, size=s) for s in sizes]
        else:
            objects = [ObjectGroup(g.shape, g.color, size=s) for g, s in zip(_singles(rng, pool, 2), sizes)]
        return objects, [], words.join([np_(g) for g in objects], rng)
    if category == "compound":
        first, second, third = _combos(rng, pool, 3)
        sized = rng.random() < 0.3
        pair = [group(c[1], c[0], size=words._pick(rng, SIZES) if sized else None) for c in (first, second)]
        relation = words._pick(rng, RELATIONS)
        third_group = group(third[1], third[0], count=int(rng.integers(1, 4)))
        phrase = words.relation_phrase(np_(pair[0]), relation, np_(pair[1]), rng, wording, extra)
        phrase += ", and " + np_(third_group)
        return [*pair, third_group], [(0, relation, 1)], phrase
    raise ValueError(f"unknown category {category!r}; choose one of {list(CATEGORIES)}")


def _layoutable(spec: Spec, seeds: int = 1) -> bool:
    try:
        for seed in range(seeds):
            layout(spec, np.random.default_rng(seed))
        return True
    except SpecError:
        return False


def sample_spec(rng: np.random.Generator, category: str | None = None, split: str = "train",
                extra: bool = False, size_words: float = 0.0) -> Spec:
    """A random scene of `category` (default: uniform over CATEGORIES) belonging to `split`; `extra`: captions
    also use the extra training words of `synonyms.py` (grammar v2); `size_words`: the chance that an object whose
    size the category leaves free gets one, named in the caption (0: the renderer picks it unsaid)."""
    if not 0.0 <= size_words <= 1.0:
        raise ValueError(f"size_words={size_words!r}: must be a probability in [0, 1]")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; choose one of {list(CATEGORIES)}")
    pool = ALL_COMBOS if split == "heldout" else TRAIN_COMBOS
    for _ in range(10_000):
        chosen = category or words._pick(rng, CATEGORIES)
        objects, relations, phrase = _scene(chosen, rng, pool, wording=split == "wording", extra=extra,
                                            size_words=size_words)
        prompt = words.frame(phrase, rng, plural=sum(g.count for g in objects) > 1, wording=split == "wording",
                             heldout=split == "heldout", extra=extra)
        spec = Spec(prompt, chosen, tuple(objects), tuple(relations))
        if split_of(spec) == split and _layoutable(spec, seeds=16 if size_words else 1):  # named sizes: no fallback
            return spec
    raise RuntimeError(f"could not sample a {category} scene of split {split!r}")   # pragma: no cover


def make_specs(split: str, per_category: int, seed: int, unique: bool = True, extra: bool = False,
               size_words: float = 0.0) -> list[Spec]:
    """`per_category` prompts (distinct if `unique`) of every category, deterministic given seed (`extra`,
    `size_words`: see `sample_spec`)."""
    rng = np.random.default_rng(seed)
    specs, seen = [], set()
    for category in CATEGORIES:
        count = 0
        while count < per_category:
            spec = sample_spec(rng, category, split, extra, size_words)
            if not unique or spec.prompt not in seen:
                seen.add(spec.prompt)
                specs.append(spec)
                count += 1
    return specs


def split_path(name: str) -> Path:
    """The shipped prompts file of an evaluation split."""
    if name not in SHIPPED_SPLITS:
        raise ValueError(f"unknown evaluation split {name!r}; shipped splits: {sorted(SHIPPED_SPLITS)}")
    return Path(str(resources.files("openimagen") / "assets" / "shapes" / f"{name}.jsonl"))


def load_split(name: str) -> list[Spec]:
    """The fixed evaluation prompts of a split ("eval": in-distribution, "heldout": unseen combos/templates,
    "wording": unseen words and forms)."""
    return load_prompts(split_path(name))


class ShapesWorld:
    """An endless, deterministic stream of (image, caption, spec) of one split at one resolution."""

    def __init__(self, split: str = "train", size: int = 64, seed: int = 0):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
        self.split, self.size, self.seed = split, size, seed

    def __iter__(self) -> Iterator[tuple[Image.Image, str, Spec]]:
        rng = np.random.default_rng(self.seed)
        for index in itertools.count():
            spec = sample_spec(rng, split=self.split)
            yield render(spec, self.size, seed=self.seed * 1_000_003 + index), spec.prompt, spec


def main() -> None:
    """Write the shipped evaluation splits that are missing (or rewrite the one named by --split), or a training
    prompts file: python -m openimagen.data.shapes.world [--split NAME] [--train PER_CATEGORY OUT.jsonl]."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--train", nargs=2, metavar=("PER_CATEGORY", "OUT"), help="write a training prompts file")
    parser.add_argument("--split", choices=sorted(SHIPPED_SPLITS), help="rewrite this shipped split (else: only "
                        "write missing ones; the shipped files define the benchmark, keep them fixed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extra-words", action="store_true", help="training captions also use the extra words "
                        "of synonyms.py (grammar v2; without it: grammar v1, as the shipped model's data)")
    parser.add_argument("--size-words", type=float, default=0.0, metavar="P", help="training captions name the "
                        "size of an object whose size the category leaves free with probability P (default 0: the "
                        "renderer picks it unsaid)")
    args = parser.parse_args()
    if args.train:
        specs = make_specs("train", int(args.train[0]), args.seed, unique=False, extra=args.extra_words,
                           size_words=args.size_words)
        write_prompts(args.train[1], specs)
        print(f"{args.train[1]}: {len(specs)} training prompts")
        return
    for name, (per_category, seed) in SHIPPED_SPLITS.items():
        if name != args.split and (args.split or split_path(name).exists()):
            print(f"{split_path(name)}: kept")
            continue
        write_prompts(split_path(name), make_specs(name, per_category, seed))
        print(f"{split_path(name)}: {per_category} prompts x {len(CATEGORIES)} categories")


if __name__ == "__main__":
    main()
