"""The shapes-world benchmark: generate images for spec'd prompts, judge each one, aggregate per category, FD_shapes.

A generator is any callable `(specs, images_per_prompt, seed) -> list of PIL images` (spec-major); stand-ins for
checking the benchmark itself: `render_generator` (the truth, scores ~100%), `noise_generator` (scores ~0%),
`folder_generator` (images a previous run wrote to `out/images`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from openimagen.data.shapes.render import render
from openimagen.data.shapes.spec import Spec
from openimagen.files import save_image_atomic, write_text_atomic
from openimagen.data.shapes.vocab import CATEGORIES
from openimagen.eval.judge import JudgeResult, judge

Generator = Callable[[Sequence[Spec], int, int], list[Image.Image]]


class BenchImageError(ValueError):
    """An image `folder_generator` should judge is missing or unreadable; the message names the file."""


def image_name(prompt_index: int, image_index: int) -> str:
    return f"{prompt_index:04d}-{image_index}.png"


def check_image_folder(folder: str | Path, specs: Sequence[Spec], images_per_prompt: int) -> None:
    """Every image `folder_generator(folder)` will judge is there and decodes (BenchImageError naming the first that
    does not): checked before the benchmark starts, not half-way through it."""
    for p, spec in enumerate(specs):
        for k in range(images_per_prompt):
            read_image(Path(folder) / image_name(p, k), f"prompt {p} ({spec.prompt!r}), image {k}")


def read_image(path: Path, what: str = "") -> Image.Image:
    """The RGB image at `path` (`what`: the prompt and image it is for); BenchImageError naming it if it is missing
    or Pillow cannot decode it."""
    if not path.is_file():
        raise BenchImageError(f"{path}: missing image for {what}; judge the folder a bench run wrote, with its "
                              "prompts")
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, SyntaxError, ValueError) as error:    # UnidentifiedImageError is an OSError; truncated too
        raise BenchImageError(f"{path}: not an image Pillow can read ({error}); generate it again") from error


def render_generator(size: int) -> Generator:
    """The renderer itself: what a perfect model would draw."""
    def generate(specs, images_per_prompt, seed):
        return [render(spec, size, seed=seed * 7919 + k) for spec in specs for k in range(images_per_prompt)]
    return generate


def noise_generator(size: int) -> Generator:
    """Uniform noise images: what a useless model would draw."""
    def generate(specs, images_per_prompt, seed):
        rng = np.random.default_rng(seed)
        count = len(specs) * images_per_prompt
        return [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(count)]
    return generate


def folder_generator(folder: str | Path, first_index: int = 0) -> Generator:
    """Images already generated, named `PPPP-K.png` (prompt index, image index) as `run_bench` writes them."""
    folder = Path(folder)

    def generate(specs, images_per_prompt, seed):
        images = []
        for p in range(len(specs)):
            for k in range(images_per_prompt):
                path = folder / image_name(generate.offset + p, k)
                images.append(read_image(path, f"prompt {generate.offset + p} ({specs[p].prompt!r}), image {k}"))
        generate.offset += len(specs)
        return images
    generate.offset = first_index
    return generate


def cascade_generator(cascade, progress: bool = False, **settings: Any) -> Generator:
    """A trained cascade (`openimagen.cascade.Cascade`) sampling each spec's prompt with `settings`."""
    def generate(specs, images_per_prompt, seed):
        return cascade([s.prompt for s in specs], num_images_per_prompt=images_per_prompt, seed=seed,
                       progress=progress, **settings)
    return generate


def sr_fidelity_generator(cascade, progress: bool = False, **settings: Any) -> Generator:
    """The cascade's last stage alone, super-resolving *true* scenes: each spec rendered at that stage's input
    size (the seeds `render_generator` uses) and passed with its prompt. A faithful SR stage keeps them all."""
    last = len(cascade.config.stages)
    if last < 2:
        raise ValueError("the cascade has one stage: there is no super-resolution stage to measure")
    size = cascade.config.lowres_resolution(last)
    if size < 16:
        raise ValueError(f"the last stage's input is {size} px; the shapes renderer draws scenes of >= 16 px")
    truth = render_generator(size)

    def generate(specs, images_per_prompt, seed):
        return cascade([s.prompt for s in specs], num_images_per_prompt=images_per_prompt, seed=seed,
                       start_image=truth(specs, images_per_prompt, seed), start_stage=last, progress=progress,
                       **settings)
    return generate


def requirement_kind(check_name: str) -> str:
    """'objects[2].count' -> 'count', 'relations[0]' -> 'relation', 'extra_objects' -> 'extra_objects'."""
    if check_name.startswith("relations"):
        return "relation"
    return check_name.rsplit(".", 1)[-1]


@dataclass
class BenchResult:
    metrics: dict[str, Any]
    per_prompt: list[dict[str, Any]]
    images: list[Image.Image]


def aggregate(specs: Sequence[Spec], results: list[list[JudgeResult]]) -> dict[str, Any]:
    """Overall and per-category alignment (fraction of images passing every check) and per-requirement rates."""
    by_category: dict[str, Counter] = defaultdict(Counter)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for spec, judged in zip(specs, results):
        for result in judged:
            by_category[spec.category].update(passed=int(result.passed), total=1)
            for check in result.checks:
                by_kind[requirement_kind(check.name)].update(passed=int(check.passed), total=1)
    passed = sum(c["passed"] for c in by_category.values())
    total = sum(c["total"] for c in by_category.values())

    def rate(counter):
        return {"accuracy": counter["passed"] / counter["total"], "passed": counter["passed"],
                "total": counter["total"]}
    return {"alignment": passed / total, "passed": passed, "images": total, "prompts": len(specs),
            "categories": {c: rate(by_category[c]) for c in CATEGORIES if c in by_category},
            "requirements": {k: rate(v) for k, v in sorted(by_kind.items())}}


def run_bench(specs: Sequence[Spec], generate: Generator, images_per_prompt: int = 4, seed: int = 0,
              batch_prompts: int = 8, fd: bool = True, progress: bool = True,
              images_dir: str | Path | None = None) -> BenchResult:
    """Generate `images_per_prompt` images per spec (in batches of prompts), judge them, aggregate.

    With `images_dir`, every image is written there as `PPPP-K.png` as soon as it is judged.
    """
    results: list[list[JudgeResult]] = []
    images: list[Image.Image] = []
    if images_dir is not None:
        Path(images_dir).mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(specs) * images_per_prompt, unit="img", desc="bench", disable=not progress)
    for start in range(0, len(specs), batch_prompts):
        chunk = list(specs[start:start + batch_prompts])
        made = generate(chunk, images_per_prompt, seed + start)
        if len(made) != len(chunk) * images_per_prompt:
            raise ValueError(f"the generator returned {len(made)} images for {len(chunk)} prompts x "
                             f"{images_per_prompt}")
        for p, spec in enumerate(chunk):
            own = made[p * images_per_prompt:(p + 1) * images_per_prompt]
            results.append([judge(image, spec) for image in own])
            if images_dir is not None:
                for k, image in enumerate(own):
                    image.save(Path(images_dir) / image_name(start + p, k))
        images.extend(made)
        bar.update(len(made))
    bar.close()
    metrics = aggregate(specs, results)
    metrics["images_per_prompt"] = images_per_prompt
    metrics["resolution"] = images[0].size[0]
    if fd:
        from openimagen.eval.features import fd_shapes_report
        metrics["fd_shapes"] = fd_shapes_report(images, specs, images_per_prompt, seed=seed).to_dict()
    per_prompt = [{"index": i, "prompt": spec.prompt, "category": spec.category,
                   "passed": sum(r.passed for r in judged), "images": len(judged),
                   "failures": [[c.name for c in r.failures] for r in judged]}
                  for i, (spec, judged) in enumerate(zip(specs, results))]
    return BenchResult(metrics, per_prompt, images)


def write_outputs(result: BenchResult, out_dir: str | Path, settings: dict[str, Any] | None = None) -> None:
    """metrics.json, prompts.jsonl (per prompt), grid.png and report.html in `out_dir` (each written atomically)."""
    from openimagen.eval.report import grid_image, html_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = {**result.metrics, "settings": settings or {}}
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(out / "prompts.jsonl", "".join(json.dumps(row) + "\n" for row in result.per_prompt))
    grid = grid_image(result.images, result.metrics["images_per_prompt"], max_rows=32)
    save_image_atomic(grid, out / "grid.png")
    write_text_atomic(out / "report.html", html_report(metrics, result.per_prompt, grid))
