"""Relation warm-up captions: the world's two-object positional scenes said in one plain form, inside its frames.

"a drawing of a red circle above a blue square": subject first, common words only, the relation in the middle. A
network trained on the full caption mix never learns relation words (the probe stays at 0 after 63,000 steps); one
that first sees these captions for 3,000 steps reads them, and keeps them while it then learns the full world
(docs/experiments.md, sessions 6-7: P3, B1, C1). Every caption kept belongs to the training split.
"""

from __future__ import annotations

import numpy as np

from openimagen.data.shapes.captions import frame
from openimagen.data.shapes.spec import Spec
from openimagen.data.shapes.world import make_specs, split_of

RELATION_WORDS = {"left_of": "to the left of", "right_of": "to the right of", "above": "above", "below": "below"}


def plain_relation(spec: Spec) -> str:
    """'a red circle above a blue square' for a positional spec (one relation between two single objects)."""
    (subject, relation, other), = spec.relations
    first, second = spec.objects[subject], spec.objects[other]
    return f"a {first.color} {first.shape} {RELATION_WORDS[relation]} a {second.color} {second.shape}"


def relation_warmup_specs(per_category: int, seed: int, frame_seed: int) -> list[Spec]:
    """The positional scenes of `make_specs("train", per_category, seed, unique=False)` re-captioned in the plain form and framed
    with `np.random.default_rng(frame_seed)`; those whose new caption would fall outside the training split are
    dropped, so no evaluation prompt is trained on."""
    rng = np.random.default_rng(frame_seed)
    specs = []
    for spec in make_specs("train", per_category, seed, unique=False):
        if spec.category == "positional":
            caption = frame(plain_relation(spec), rng, plural=True)
            plain = Spec(caption, spec.category, spec.objects, spec.relations)
            if split_of(plain) == "train":
                specs.append(plain)
    return specs


def main() -> None:
    """Write a relation warm-up prompts file: python -m openimagen.data.shapes.warmup PER_CATEGORY OUT.jsonl."""
    import argparse

    from openimagen.data.shapes.spec import write_prompts

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("per_category", type=int, help="scenes per category drawn (about 1 in 7 is positional)")
    parser.add_argument("out", help="prompts file to write (JSONL, as `openimagen train` reads with shapes:FILE)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--frame-seed", type=int, default=5)
    args = parser.parse_args()
    if args.per_category < 1:
        parser.error(f"per_category must be at least 1, got {args.per_category}")
    specs = relation_warmup_specs(args.per_category, args.seed, args.frame_seed)
    write_prompts(args.out, specs)
    print(f"{args.out}: {len(specs)} relation warm-up prompts")


if __name__ == "__main__":
    main()
