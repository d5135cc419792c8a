"""Warm-up captions: the world's scenes said in one plain form, inside its frames.

"a drawing of a red circle above a blue square": subject first, common words only, the relation in the middle. A
network trained on the full caption mix never learns relation words (the probe stays at 0 after 63,000 steps); one
that first sees these captions for 3,000 steps reads them, and keeps them while it then learns the full world
(docs/experiments.md, sessions 6-7: P3, B1, C1). `plain_caption` says every category in the same plain way
("two red circles and a blue square", "a small red circle and a large blue square", "a red circle on the left") for
a warm-up of attribute binding. Every caption kept belongs to the training split.
"""

from __future__ import annotations

import numpy as np

from openimagen.data.shapes.captions import frame, indefinite_article
from openimagen.data.shapes.spec import ObjectGroup, Spec
from openimagen.data.shapes.synonyms import NUMBER_WORDS, POSITIONS
from openimagen.data.shapes.vocab import CATEGORIES
from openimagen.data.shapes.world import make_specs, split_of

RELATION_WORDS = {"left_of": "to the left of", "right_of": "to the right of", "above": "above", "below": "below"}


def plain_relation(spec: Spec) -> str:
    """'a red circle above a blue square' for a positional spec (one relation between two single objects); named
    sizes come first: 'a small red circle above a blue square'."""
    (subject, relation, other), = spec.relations
    return f"a {_plain_single(spec.objects[subject])} {RELATION_WORDS[relation]} a {_plain_single(spec.objects[other])}"


def _plain_single(group: ObjectGroup) -> str:
    """'red circle', 'small red circle': the noun of one object, without its article."""
    return " ".join(filter(None, (group.size, group.color, group.shape)))


def plain_group(group: ObjectGroup) -> str:
    """'a red circle', 'an orange square', 'three small blue triangles', 'a black circle on the left'."""
    noun = _plain_single(group) + ("s" if group.count > 1 else "")
    article = indefinite_article(noun) if group.count == 1 else NUMBER_WORDS[group.count]
    phrase = f"{article} {noun}"
    return phrase if group.position is None else f"{phrase} {POSITIONS[group.position].common[0]}"


def plain_caption(spec: Spec) -> str:
    """Any scene in the plain form: its relation first ('A above B'), then the other groups joined by 'and'. A
    positional scene reads exactly as `plain_relation` (which keeps 'a' before every color, as in sessions 6-7)."""
    if spec.category == "positional":
        return plain_relation(spec)
    related = {k for i, _, j in spec.relations for k in (i, j)}
    parts = [f"{plain_group(spec.objects[i])} {RELATION_WORDS[rel]} {plain_group(spec.objects[j])}"
             for i, rel, j in spec.relations]
    parts += [plain_group(group) for k, group in enumerate(spec.objects) if k not in related]
    if spec.relations:                   # 'A above B, and C': the comma keeps C out of the relation
        return ", and ".join(parts)
    return " and ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + " and " + parts[-1]


def plain_warmup_specs(per_category: int, seed: int, frame_seed: int,
                       categories: tuple[str, ...] | None = None, size_words: float = 0.0) -> list[Spec]:
    """The scenes of `make_specs("train", per_category, seed, unique=False, size_words=size_words)` (only
    `categories`, default all)
    re-captioned by `plain_caption` and framed with `np.random.default_rng(frame_seed)`; those whose new caption
    would fall outside the training split are dropped, so no evaluation prompt is trained on."""
    rng = np.random.default_rng(frame_seed)
    specs = []
    for spec in make_specs("train", per_category, seed, unique=False, size_words=size_words):
        if categories is None or spec.category in categories:
            caption = frame(plain_caption(spec), rng, plural=spec.num_objects > 1)
            plain = Spec(caption, spec.category, spec.objects, spec.relations)
            if split_of(plain) == "train":
                specs.append(plain)
    return specs


def relation_warmup_specs(per_category: int, seed: int, frame_seed: int) -> list[Spec]:
    """The relation warm-up: `plain_warmup_specs` of the positional scenes only."""
    return plain_warmup_specs(per_category, seed, frame_seed, categories=("positional",))


def main() -> None:
    """Write a warm-up prompts file: python -m openimagen.data.shapes.warmup PER_CATEGORY OUT.jsonl [--all |
    --categories C ...]."""
    import argparse

    from openimagen.data.shapes.spec import write_prompts

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("per_category", type=int, help="scenes per category drawn (about 1 in 7 is positional)")
    parser.add_argument("out", help="prompts file to write (JSONL, as `openimagen train` reads with shapes:FILE)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--frame-seed", type=int, default=5)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every category in the plain form (default: the "
                       "positional scenes only, the relation warm-up)")
    which.add_argument("--categories", nargs="+", choices=CATEGORIES, metavar="CATEGORY",
                       help=f"these categories in the plain form, e.g. positional sizes (of {', '.join(CATEGORIES)})")
    parser.add_argument("--size-words", type=float, default=0.0, metavar="P", help="name the free size of each "
                        "object with probability P ('a small red circle above a large blue square')")
    args = parser.parse_args()
    if args.per_category < 1:
        parser.error(f"per_category must be at least 1, got {args.per_category}")
    categories = None if args.all else tuple(args.categories or ("positional",))
    specs = plain_warmup_specs(args.per_category, args.seed, args.frame_seed, categories, args.size_words)
    write_prompts(args.out, specs)
    kinds = "plain" if args.all else "relation" if categories == ("positional",) else " + ".join(categories)
    print(f"{args.out}: {len(specs)} {kinds} warm-up prompts")


if __name__ == "__main__":
    main()
