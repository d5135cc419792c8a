"""Re-weight a training prompts file by category: keep every prompt of the named categories and a random share of
the others, shuffled. The shipped stage 1's phase E trained on such a mix (docs/shipped-model.md):

    python scripts/reweight_prompts.py runs/shapes-train-v3.jsonl runs/shapes-train-v3-cc.jsonl \
        --keep compound counting --rest 0.4 --seed 0

The prompts stay those of the input file, so its embedding cache serves the output as well.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path


def reweight(rows: list[dict], keep: set[str], rest: float, seed: int) -> list[dict]:
    """Every row whose category is in `keep`, each other row with probability `rest`; then shuffled."""
    rng = random.Random(seed)
    kept = [row for row in rows if row["category"] in keep or rng.random() < rest]
    rng.shuffle(kept)
    return kept


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a prompts file (JSON lines with a 'category' field)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--keep", nargs="+", required=True, metavar="CATEGORY", help="categories kept whole")
    parser.add_argument("--rest", type=float, required=True, help="share of every other category kept, in [0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0.0 <= args.rest <= 1.0:
        parser.error(f"--rest must be in [0, 1], got {args.rest}")
    rows = []
    with open(args.source, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                row = json.loads(line)
                if "category" not in row:
                    sys.exit(f"{args.source}:{number}: no 'category' field; a shapes-world prompts file has one per line")
                rows.append(row)
    unknown = set(args.keep) - {row["category"] for row in rows}
    if unknown:
        sys.exit(f"--keep {sorted(unknown)}: no such category in {args.source}")
    kept = reweight(rows, set(args.keep), args.rest, args.seed)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in kept), encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"{args.out}: {len(kept)} prompts {dict(Counter(row['category'] for row in kept))}")


if __name__ == "__main__":
    main()
