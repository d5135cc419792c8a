"""Where unseen wording fails: the pass rate of a `--split wording` bench per held-out word or form, and how many of
its prompts name a held-out color that the frozen encoder places nearer another color (an upper bound on the split).

    openimagen bench --model M --split wording --out runs/M-wording
    python scripts/wording_by_word.py runs/M-wording

`--misread` lists the held-out color names the encoder misplaces. The default: the 8 that both the linear probe of
session 2 (`python scripts/probe_color_words.py`) and the nearest training word of session 12 (`... --family colors
--layers 0,-1 --nearest`) read as another color in every caption frame.
A prompt that names one of them can pass only by chance (1 in 7 colors), so the split is bounded by
(other prompts + misread prompts / 7) / all prompts, whatever the diffusion model learns.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from openimagen.data.shapes.synonyms import COLORS, held_out_wording

MISREAD = ("vermilion", "jade", "cerulean", "sunflower", "plum", "grape", "carrot", "charcoal")


def per_word(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """Held-out word or form -> (images passed, images) over the prompts that use it."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        for word in set(held_out_wording(row["prompt"])):
            counts[word][0] += row["passed"]
            counts[word][1] += row["images"]
    return {word: (passed, images) for word, (passed, images) in counts.items()}


def naming_misread(rows: list[dict], misread: set[str]) -> int:
    """How many prompts name at least one misread color."""
    return sum(1 for row in rows if misread & set(held_out_wording(row["prompt"])))


def misread_bound(rows: list[dict], misread: set[str]) -> tuple[int, float]:
    """(prompts naming a misread color, the best overall pass rate the split then allows: those pass at chance,
    at most 1 in 7, every other prompt always)."""
    hit = naming_misread(rows, misread)
    return hit, (len(rows) - hit + hit / len(COLORS)) / len(rows)


def needed_on_the_rest(rows: list[dict], misread: set[str], target: float) -> float:
    """The pass rate the prompts without a misread color need for the split to reach `target` (misread ones at
    chance); above 1 means out of reach."""
    hit = naming_misread(rows, misread)
    rest = len(rows) - hit
    return (target * len(rows) - hit / len(COLORS)) / rest if rest else float("inf")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="an `openimagen bench --split wording --out` folder")
    parser.add_argument("--misread", nargs="*", default=list(MISREAD), metavar="WORD")
    parser.add_argument("--target", type=float, default=75.0, help="a bar for the split, in percent")
    args = parser.parse_args(argv)
    path = args.bench / "prompts.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: give the --out folder of `openimagen bench --split wording`")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    held = {word for words in COLORS.values() for word in words.held_out}
    unknown = sorted(set(args.misread) - held)
    if unknown:
        raise SystemExit(f"--misread: {unknown} are not held-out color names; those are {sorted(held)}")
    for word, (passed, images) in sorted(per_word(rows).items(), key=lambda item: item[1][0] / item[1][1]):
        print(f"{word:24s} {passed:4d} / {images:4d}  {100 * passed / images:5.1f}%")
    overall = sum(row["passed"] for row in rows) / max(1, sum(row["images"] for row in rows))
    hit, bound = misread_bound(rows, set(args.misread))
    print(f"\noverall {100 * overall:.1f}%; {hit} of {len(rows)} prompts name a misread color, "
          f"so at most {100 * bound:.1f}% can pass;\nreaching {args.target:.0f}% needs "
          f"{100 * needed_on_the_rest(rows, set(args.misread), args.target / 100):.1f}% of the other prompts")


if __name__ == "__main__":
    main(sys.argv[1:])
