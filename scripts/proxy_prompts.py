"""The short-run proxy of docs/experiments.md: the first N prompts of every category of a shipped split.

    python scripts/proxy_prompts.py --split eval --per-category 8 --out runs/proxy-eval.jsonl
"""
from __future__ import annotations

import argparse
from collections import defaultdict

from openimagen.data.shapes.spec import write_prompts
from openimagen.data.shapes.world import load_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="eval")
    parser.add_argument("--per-category", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    by_category = defaultdict(list)
    for spec in load_split(args.split):
        by_category[spec.category].append(spec)
    specs = [spec for specs in by_category.values() for spec in specs[:args.per_category]]
    write_prompts(args.out, specs)
    print(f"{args.out}: {len(specs)} prompts ({args.per_category} per category of split {args.split!r})")


if __name__ == "__main__":
    main()
