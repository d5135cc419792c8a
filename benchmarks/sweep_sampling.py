"""Choose a cascade's sampling defaults by measurement: judge alignment on a shapes-world split for a grid of settings.

    OMP_NUM_THREADS=1 python benchmarks/sweep_sampling.py --model runs/shapes-cascade/cascade \
        --stage 1 --guidance 1 3 5 8 --steps 15 25 --per-category 10 --images 2 --out docs/sampling-sweep.md
    python benchmarks/sweep_sampling.py --model M --truth-lowres 2 --guidance bicubic 1 3 --threshold static
    python benchmarks/sweep_sampling.py --model M --prompts dev.jsonl --stage 1 --guidance 2 3 4   # a dev set

Each setting is one `openimagen.eval.bench.run_bench` on the first `--per-category` prompts of every category of the
split; the table (alignment overall and per category, and seconds) is printed and written as Markdown.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
from PIL import Image

from openimagen.cascade import Cascade
from openimagen.data.shapes import CATEGORIES
from openimagen.data.shapes.render import render
from openimagen.data.shapes.spec import load_prompts
from openimagen.data.shapes.world import load_split
from openimagen.eval.bench import cascade_generator, run_bench


def subset(split: str, per_category: int, prompts: str | None = None):
    specs = load_prompts(prompts) if prompts else load_split(split)
    return [s for c in CATEGORIES for s in [x for x in specs if x.category == c][:per_category]]


def truth_lowres_generator(cascade, stage: int, **settings):
    """Stage `stage` alone, super-resolving the true scene downsampled to its input size: the SR stage's own
    quality, apart from the errors of the stages before it (bicubic upsampling of the same input is the baseline)."""
    size = cascade.config.stages[stage - 1].resolution
    lowres = cascade.config.stages[stage - 2].resolution

    def generate(specs, images_per_prompt, seed):
        truth = [render(s, size, seed=seed + i).resize((lowres, lowres), Image.BICUBIC)
                 for i, s in enumerate(specs) for _ in range(images_per_prompt)]
        if settings.get("guidance_scale") == "bicubic":
            return [t.resize((size, size), Image.BICUBIC) for t in truth]
        return cascade([s.prompt for s in specs for _ in range(images_per_prompt)], seed=seed, progress=False,
                       start_stage=stage, start_image=truth, stop_at_stage=stage,
                       **{k: v for k, v in settings.items() if k != "stop_at_stage"})
    return generate


def stage_axis(text: str) -> list[tuple[int, str, float | int | str]]:
    """'2.aug_level=0.1,0.2' -> [(2, 'aug_level', 0.1), (2, 'aug_level', 0.2)]."""
    target, _, values = text.partition("=")
    stage, _, key = target.partition(".")
    if not stage.isdigit() or not key or not values:
        raise SystemExit(f"--stage-setting {text!r}: expected STAGE.KEY=V1,V2 (e.g. 2.aug_level=0.1,0.2)")

    def parse(value: str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        return value
    return [(int(stage), key, parse(v)) for v in values.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--split", default="eval")
    parser.add_argument("--prompts", default=None, help="a specs file instead of --split: a dev set of your own, so "
                        "that defaults are not tuned on the evaluation split")
    parser.add_argument("--stage", type=int, default=None, help="stop at this stage (default: the last)")
    parser.add_argument("--guidance", type=lambda v: v if v == "bicubic" else float(v), nargs="+", default=[None])
    parser.add_argument("--steps", type=int, nargs="+", default=[None])
    parser.add_argument("--sampler", nargs="+", default=[None])
    parser.add_argument("--threshold", nargs="+", default=[None])
    parser.add_argument("--aug-level", type=float, nargs="+", default=[None])
    parser.add_argument("--stage-setting", action="append", default=[], metavar="STAGE.KEY=V1,V2",
                        help="a grid axis for one stage only, e.g. 2.aug_level=0.1,0.2 (repeatable)")
    parser.add_argument("--truth-lowres", type=int, default=None, metavar="STAGE",
                        help="sweep this SR stage alone on true low-res inputs (guidance 'bicubic' = the baseline)")
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="Markdown file for the table (a .json beside it keeps the rows)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cascade = Cascade.from_pretrained(args.model)
    specs = subset(args.split, args.per_category, args.prompts)
    rows = []
    axes = [stage_axis(text) for text in args.stage_setting]
    grid = itertools.product(args.sampler, args.steps, args.guidance, args.threshold, args.aug_level, *axes)
    for sampler, steps, guidance, threshold, aug_level, *per_stage in grid:
        settings = {k: v for k, v in dict(sampler=sampler, steps=steps, guidance_scale=guidance, threshold=threshold,
                                          aug_level=aug_level, stop_at_stage=args.stage).items() if v is not None}
        overrides: dict[int, dict] = {}
        for stage, key, value in per_stage:
            overrides.setdefault(stage, {})[key] = value
        if overrides:
            settings["stage_overrides"] = overrides
        start = time.perf_counter()
        generate = (truth_lowres_generator(cascade, args.truth_lowres, **settings) if args.truth_lowres
                    else cascade_generator(cascade, **settings))
        result = run_bench(specs, generate, args.images, fd=False, progress=False)
        seconds = time.perf_counter() - start
        row = {"settings": settings, "alignment": result.metrics["alignment"], "seconds": round(seconds, 1),
               "categories": {c: r["accuracy"] for c, r in result.metrics["categories"].items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    header = "| settings | alignment | " + " | ".join(CATEGORIES) + " | seconds |"
    lines = [header, "|" + "---|" * (len(CATEGORIES) + 3)]
    for row in rows:
        cells = " | ".join(f"{100 * row['categories'].get(c, float('nan')):.0f}" for c in CATEGORIES)
        parts = [f"{k}={v}" for k, v in row["settings"].items() if k != "stage_overrides"]
        parts += [f"stage {n}: " + ", ".join(f"{k}={v}" for k, v in o.items())
                  for n, o in row["settings"].get("stage_overrides", {}).items()]
        described = ", ".join(parts) or "model defaults"
        lines.append(f"| {described} | {100 * row['alignment']:.1f} | {cells} | {row['seconds']} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        note = (f"Model `{args.model}`, prompts `{args.prompts or args.split}`, first {args.per_category} prompts "
                f"per category, {args.images} images per prompt, {args.threads} thread(s). Alignment in %.\n\n")
        Path(args.out).write_text(note + table + "\n")
        Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
