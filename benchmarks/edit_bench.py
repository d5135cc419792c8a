"""The shapes-world editing benchmarks of docs/editing.md, one command:

    OMP_NUM_THREADS=1 python benchmarks/edit_bench.py                      # the shipped model, small defaults
    python benchmarks/edit_bench.py --model M --trained-model T --edits 60 --out edit-bench.json --picture edits.png

Edit: render an eval scene, mask one single object's box (with a margin), change that object's colour or shape in
the spec, prompt with the new spec's caption (the old caption with "<colour> <shape>" replaced), judge the result
against the new spec. Outpaint: keep the half of the scene holding the most whole objects (not all of them, none cut by its
edge), pad it back to the full canvas, prompt with the full caption, judge against the full spec. For each method: the success
rate (the judge passes), the largest change of a kept pixel (must be 0: the known region is pasted back) and the
seconds per image. `trained` needs --trained-model (a cascade with a task = "inpaint" stage).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from openimagen.cascade import Cascade
from openimagen.data.shapes import COLORS, SHAPES, Spec, SpecError, layout, render
from openimagen.data.shapes.world import load_split
from openimagen.eval import judge

SIZE = 64


@dataclasses.dataclass
class Case:
    name: str                      # "edit: a red triangle -> a green triangle"
    image: Image.Image             # the input scene
    mask: Image.Image              # white = regenerate
    spec: Spec                     # what the result must show
    pad: tuple[int, int, int, int] | None = None   # outpainting: the input is the kept part, padded by this


def object_box(placed, size: int, margin: float) -> tuple[int, int, int, int]:
    half = placed.side / 2 + margin
    box = [(placed.cx - half) * size, (placed.cy - half) * size, (placed.cx + half) * size, (placed.cy + half) * size]
    return tuple(int(np.clip(round(v), 0, size)) for v in box)


def edited_spec(spec: Spec, group: int, kind: str, turn: int) -> Spec | None:
    """`spec` with objects[group]'s colour (or shape) changed to another value that keeps the spec valid and whose
    caption can be rewritten ("red circle" -> "green circle"); None if there is none."""
    old = spec.objects[group]
    phrase = f"{old.color} {old.shape}"
    if spec.prompt.count(phrase) != 1:
        return None
    options = COLORS if kind == "color" else SHAPES
    start = options.index(getattr(old, kind)) + turn
    for value in (options[(start + offset) % len(options)] for offset in range(1, len(options) + 1)):
        if value == getattr(old, kind):
            continue
        new = dataclasses.replace(old, **{kind: value})
        prompt = spec.prompt.replace(phrase, f"{new.color} {new.shape}")
        try:
            return Spec(prompt, spec.category, spec.objects[:group] + (new,) + spec.objects[group + 1:],
                        spec.relations)
        except SpecError:
            continue
    return None


def edit_cases(count: int, margin: float, seed: int) -> list[Case]:
    cases = []
    for index, spec in enumerate(load_split("eval")):
        placed = layout(spec, np.random.default_rng(seed + index))
        singles = [p for p in placed if spec.objects[p.group].count == 1]
        if not singles:
            continue
        target = singles[index % len(singles)]
        new = edited_spec(spec, target.group, ("color", "shape")[len(cases) % 2], len(cases))
        if new is None:
            continue
        mask = Image.new("L", (SIZE, SIZE), 0)
        mask.paste(255, object_box(target, SIZE, margin))
        cases.append(Case(f"edit: {spec.prompt} -> {new.prompt}", render(spec, SIZE, seed=seed + index), mask, new))
        if len(cases) == count:
            break
    return cases


def outpaint_cases(count: int, seed: int) -> list[Case]:
    halves = {"left": (0, 0, SIZE // 2, SIZE), "right": (SIZE // 2, 0, SIZE, SIZE),
              "top": (0, 0, SIZE, SIZE // 2), "bottom": (0, SIZE // 2, SIZE, SIZE)}
    cases = []
    for index, spec in enumerate(load_split("eval")):
        placed = layout(spec, np.random.default_rng(seed + index))

        def overlap(box, p) -> float:
            """Share of p's box inside `box`."""
            x0, y0, x1, y1 = (v / SIZE for v in box)
            h, v = (min(x1, p.cx + p.side / 2) - max(x0, p.cx - p.side / 2),
                    min(y1, p.cy + p.side / 2) - max(y0, p.cy - p.side / 2))
            return max(h, 0) * max(v, 0) / p.side**2

        shares = {name: [overlap(box, p) for p in placed] for name, box in halves.items()}
        clean = {name: sum(x == 1 for x in xs) for name, xs in shares.items() if all(x in (0, 1) for x in xs)}
        name = max(clean, key=clean.get, default=None)              # no object cut by the edge of the kept half
        if name is None or not 0 < clean[name] < len(placed):
            continue
        box = halves[name]
        scene = render(spec, SIZE, seed=seed + index)
        half = SIZE // 2
        pad = {"left": (0, 0, half, 0), "right": (half, 0, 0, 0), "top": (0, 0, 0, half), "bottom": (0, half, 0, 0)}[name]
        mask = Image.new("L", (SIZE, SIZE), 255)
        mask.paste(0, box)
        cases.append(Case(f"outpaint ({name} half kept): {spec.prompt}", scene.crop(box), mask, spec, pad))
        if len(cases) == count:
            break
    return cases


def run(cascade: Cascade, case: Case, method: str, seed: int, settings: dict) -> Image.Image:
    if case.pad is None:
        return cascade.inpaint(case.spec.prompt, case.image, case.mask, seed=seed, method=method, progress=False,
                               **settings)[0]
    return cascade.outpaint(case.spec.prompt, case.image, case.pad, seed=seed, method=method, progress=False,
                            **settings)[0]


def known_pixels(case: Case) -> np.ndarray:
    """The input's pixels on the output canvas (outpainting: the kept half in place)."""
    if case.pad is None:
        return np.asarray(case.image.convert("RGB"), dtype=np.int16)
    canvas = Image.new("RGB", (SIZE, SIZE), "white")
    canvas.paste(case.image, (case.pad[0], case.pad[1]))
    return np.asarray(canvas, dtype=np.int16)


def evaluate(models: dict[str, Cascade], cases: list[Case], seed: int, settings: dict) -> tuple[dict, list]:
    rows, outputs = {}, []
    for method, cascade in models.items():
        passed, worst, seconds, images = 0, 0, 0.0, []
        for number, case in enumerate(cases):
            start = time.perf_counter()
            image = run(cascade, case, method, seed + number, settings)
            seconds += time.perf_counter() - start
            keep = np.asarray(case.mask) < 128
            worst = max(worst, int(np.abs(np.asarray(image, dtype=np.int16) - known_pixels(case))[keep].max()))
            passed += judge(image, case.spec).passed
            images.append(image)
        rows[method] = {"success": passed / len(cases), "passed": passed, "cases": len(cases),
                        "max_abs_diff_outside_mask": worst, "seconds_per_image": seconds / len(cases)}
        outputs.append(images)
        print(f"  {method}: {passed}/{len(cases)} pass, max |diff| outside the mask {worst}, "
              f"{seconds / len(cases):.1f} s/image", flush=True)
    return rows, outputs


def picture(cases: list[Case], outputs: list[list[Image.Image]], methods: list[str], path: Path) -> None:
    """A row per case: the input, the input with the area to generate tinted, then each method's result (2x)."""
    from PIL import ImageDraw

    tile, gap, header = SIZE * 2, 4, 14
    columns = ["input", "mask"] + methods
    grid = Image.new("RGB", (len(columns) * (tile + gap), header + len(cases) * (tile + gap)), "white")
    pen = ImageDraw.Draw(grid)
    for column, name in enumerate(columns):
        pen.text((column * (tile + gap) + 4, 1), name, fill="black")
    for row, case in enumerate(cases):
        shown = Image.new("RGB", (SIZE, SIZE), (200, 200, 200))
        shown.paste(case.image, (0, 0) if case.pad is None else (case.pad[0], case.pad[1]))
        tinted = Image.composite(Image.blend(shown, Image.new("RGB", shown.size, (255, 0, 255)), 0.5), shown,
                                 case.mask)
        for column, image in enumerate([shown, tinted] + [images[row] for images in outputs]):
            grid.paste(image.resize((tile, tile), Image.NEAREST), (column * (tile + gap), header + row * (tile + gap)))
    grid.save(path)


def table(title: str, rows: dict) -> str:
    lines = [f"| {title} | success | kept pixels: max abs diff | s / image |", "|---|---|---|---|"]
    lines += [f"| {m} | {r['success']:.0%} ({r['passed']}/{r['cases']}) | {r['max_abs_diff_outside_mask']} | "
              f"{r['seconds_per_image']:.1f} |" for m, r in rows.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="saved cascade (default: the shipped model)")
    parser.add_argument("--trained-model", default=None, help="a cascade with a task = 'inpaint' stage")
    parser.add_argument("--methods", nargs="+", default=["naive", "repaint", "trained"])
    parser.add_argument("--edits", type=int, default=12, help="edit cases")
    parser.add_argument("--outpaints", type=int, default=6, help="outpainting cases")
    parser.add_argument("--margin", type=float, default=0.05, help="mask margin around the object (unit canvas)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--jump-length", type=int, default=1)
    parser.add_argument("--jump-n-sample", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--picture", type=Path, default=None, help="write a grid of edits (PNG)")
    parser.add_argument("--picture-rows", type=int, default=3, help="cases of each benchmark in the picture")
    args = parser.parse_args()

    from openimagen.cli.model_folder import SHIPPED_MODEL

    models, loaded = {}, {}
    for method in args.methods:
        folder = args.trained_model if method == "trained" else (args.model or SHIPPED_MODEL)
        if folder is None:
            print("trained: skipped (no --trained-model)")
            continue
        models[method] = loaded.setdefault(str(folder), None) or Cascade.from_pretrained(folder)
        loaded[str(folder)] = models[method]
    settings = {"steps": args.steps, "jump_length": args.jump_length, "jump_n_sample": args.jump_n_sample}
    results = {"model": str(args.model or SHIPPED_MODEL), "trained_model": args.trained_model,
               "settings": {**settings, "margin": args.margin, "seed": args.seed}}
    outputs = []
    for title, cases in (("edit", edit_cases(args.edits, args.margin, args.seed)),
                         ("outpaint", outpaint_cases(args.outpaints, args.seed))):
        if not cases:
            continue
        print(f"{title}: {len(cases)} cases", flush=True)
        results[title], images = evaluate(models, cases, args.seed, settings)
        outputs.append((cases, images))
        print(table(title, results[title]))
    if args.picture and outputs:
        cases = [c for group, _ in outputs for c in group[:args.picture_rows]]
        images = [[im for _, per_method in outputs for im in per_method[k][:args.picture_rows]]
                  for k in range(len(models))]
        picture(cases, images, list(models), args.picture)
        results["picture"] = {"path": str(args.picture), "rows": [c.name for c in cases]}
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
