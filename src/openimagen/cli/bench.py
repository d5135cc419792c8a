"""`openimagen bench`: text-image alignment of a model on the shapes world, judged exactly, plus FD_shapes."""

from __future__ import annotations

import re
from pathlib import Path

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command
from openimagen.cli.checks import check_float, check_positive_ints, check_seed, guidance_interval_option, sampler_option

EXAMPLES = """
\b
Examples:
  openimagen bench --split eval --out bench/eval                 # the shipped model, 4 images per prompt
  openimagen bench --model runs/x/cascade --split heldout --steps 50 --guidance 3
  openimagen bench --prompts my-scenes.jsonl --images bench/eval/images --out bench/rejudged
  openimagen bench --split eval --generator render --out bench/truth   # the renderer: scores ~100%
  openimagen bench --split eval --sr-only --out bench/sr                # last SR stage on true low-res scenes
"""


def load_specs(prompts: str | None, split: str | None, limit: int | None):
    from openimagen.data.shapes.spec import SpecError, load_prompts
    from openimagen.data.shapes.world import load_split

    if (prompts is None) == (split is None):
        raise UserError("give exactly one of --prompts FILE.jsonl or --split NAME (eval, heldout or wording)")
    if prompts is not None and not Path(prompts).is_file():
        what = " is a folder" if Path(prompts).is_dir() else ": no such file"
        raise UserError(f"--prompts {prompts}{what}; pass a prompts JSONL file (one scene spec per line, "
                        "docs/shapes.md)")
    try:
        specs = load_prompts(prompts) if prompts else load_split(split)
    except UnicodeDecodeError as error:
        raise UserError(f"--prompts {prompts}: not UTF-8 text ({error.reason} at byte {error.start}); save it as "
                        "UTF-8") from error
    except (SpecError, ValueError, OSError) as error:
        raise UserError(str(error)) from error
    return specs[:limit] if limit else specs


def make_generator(kind: str, model: str | None, images: str | None, settings: dict, size: int, prompts: list[str],
                   sr_only: bool = False):
    from openimagen.eval import bench

    if images is not None:
        if not Path(images).is_dir():
            what = " is a file, not a folder" if Path(images).exists() else ": no such folder"
            raise UserError(f"--images {images}{what} (expected PPPP-K.png files written by a bench run)")
        return bench.folder_generator(images)
    if kind == "render":
        return bench.render_generator(size)
    if kind == "noise":
        return bench.noise_generator(size)
    from openimagen.cli.model_folder import resolve_model
    from openimagen.cli.sample import load_cascade

    cascade = load_cascade(resolve_model(model), prompts)
    stages = len(cascade.config.stages)
    if not 1 <= settings.get("stop_at_stage", 1) <= stages:
        raise UserError(f"--stop-at-stage {settings['stop_at_stage']}: the model has stages 1..{stages}")
    if not sr_only:
        return bench.cascade_generator(cascade, **settings)
    if "stop_at_stage" in settings:
        raise UserError("--sr-only measures the last stage; it cannot be combined with --stop-at-stage")
    try:
        return bench.sr_fidelity_generator(cascade, **settings)
    except ValueError as error:
        raise UserError(f"--sr-only: {error}") from error


def clear_earlier_images(folder: Path) -> None:
    """Remove the PPPP-K.png images an earlier run wrote to `folder`: a smaller rerun would leave some behind, and
    judging the folder later (--images) would mix the two runs. Other files are kept."""
    stale = [p for p in folder.glob("*.png") if re.fullmatch(r"\d{4}-\d+\.png", p.name)] if folder.is_dir() else []
    for path in stale:
        path.unlink()
    if stale:
        click.echo(f"removed {len(stale)} images of an earlier run from {folder}", err=True)


@click.command(epilog=EXAMPLES, cls=Command)
@click.option("--model", default=None, metavar="DIR", help="Saved cascade folder.  [default: the shipped model]")
@click.option("--prompts", default=None, metavar="FILE", help="Scene specs, one JSON object per line (docs/shapes.md).")
@click.option("--split", default=None, type=click.Choice(["eval", "heldout", "wording"]),
              help="A shipped evaluation split: eval (in-distribution), heldout (unseen color/shape pairs and "
                   "templates) or wording (words and sentence forms training captions never use).")
@click.option("--images-per-prompt", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--out", "out_dir", default="bench", show_default=True, metavar="DIR",
              help="Writes metrics.json, prompts.jsonl, grid.png, report.html and images/ (replacing an earlier run's).")
@click.option("--images", default=None, metavar="DIR", help="Judge already generated images (PPPP-K.png) instead.")
@click.option("--generator", "kind", default="model", show_default=True, type=click.Choice(["model", "render", "noise"]),
              help="model, or a stand-in that checks the benchmark: render (truth) / noise.")
@click.option("--size", default=64, show_default=True, help="Image size of the render / noise stand-ins.")
@click.option("--steps", type=int, default=None, help="Sampler steps per stage.  [default: the model's]")
@click.option("--guidance", type=float, default=None, help="Classifier-free guidance weight.  [default: the model's]")
@guidance_interval_option()
@sampler_option()
@click.option("--threshold", type=click.Choice(["none", "static", "dynamic"]), default=None)
@click.option("--aug-level", type=float, default=None, help="SR noise-conditioning augmentation level.")
@click.option("--stop-at-stage", type=int, default=None, help="Judge the images of this stage (1 = base).")
@click.option("--sr-only", is_flag=True,
              help="Measure the last (super-resolution) stage alone: it super-resolves each prompt's true scene "
                   "rendered at its input size; a faithful stage keeps ~100% (bicubic upsampling does).")
@click.option("--seed", default=0, show_default=True)
@click.option("--limit", type=int, default=None, help="Only the first N prompts (quick looks).")
@click.option("--no-fd", is_flag=True, help="Skip FD_shapes.")
@click.option("--threads", type=int, default=None, help="torch CPU threads.  [default: the free cores]")
def bench(model, prompts, split, images_per_prompt, out_dir, images, kind, size, steps, guidance, guidance_interval,
          sampler, threshold, aug_level, stop_at_stage, sr_only, seed, limit, no_fd, threads) -> None:
    """Generate images for every prompt of a shapes-world prompts file or split, judge each, and report
    alignment overall and per category (DrawBench-style), per requirement, and FD_shapes beside its floor."""
    check_positive_ints(steps=steps, threads=threads, limit=limit, size=size, stop_at_stage=stop_at_stage)
    check_seed(seed)
    check_float("--guidance", guidance, low=0, meaning="1 = no guidance, 0 = unconditional")
    check_float("--aug-level", aug_level, 0, 1)
    from openimagen.cli.threads import set_threads
    from openimagen.eval.bench import BenchImageError, check_image_folder, run_bench, write_outputs

    set_threads(threads)
    specs = load_specs(prompts, split, limit)
    settings = {k: v for k, v in dict(steps=steps, guidance_scale=guidance, guidance_interval=guidance_interval,
                                      sampler=sampler, threshold=threshold, aug_level=aug_level,
                                      stop_at_stage=stop_at_stage).items() if v is not None}
    if sr_only and (images or kind != "model"):
        raise UserError("--sr-only runs a model's last stage: do not combine it with --images or --generator")
    if images is not None and Path(images).is_dir():
        try:
            check_image_folder(images, specs, images_per_prompt)
        except BenchImageError as error:                  # the message names the file
            raise UserError(f"--images {images}: {error}") from error
    generate = make_generator(kind, model, images, settings, size, [s.prompt for s in specs], sr_only)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {out_dir}: cannot create the folder ({error.strerror})") from error
    if not images:
        clear_earlier_images(out / "images")
    try:
        result = run_bench(specs, generate, images_per_prompt, seed=seed, fd=not no_fd,
                           images_dir=None if images else out / "images")
    except BenchImageError as error:                      # --images: the message names the file
        raise UserError(f"--images {images}: {error}") from error
    source = images or (kind if kind != "model" else str(model or "shipped model"))
    task = {"task": "sr-fidelity"} if sr_only else {}
    write_outputs(result, out, {"source": source, "prompts": prompts or f"split:{split}", "seed": seed, **task,
                                **settings})
    metrics = result.metrics
    what = "SR fidelity (true low-res scenes kept intact)" if sr_only else "alignment"
    click.echo(f"{what} {100 * metrics['alignment']:.1f}% ({metrics['passed']}/{metrics['images']} images)")
    for name, rate in metrics["categories"].items():
        click.echo(f"  {name:<11} {100 * rate['accuracy']:5.1f}%  ({rate['passed']}/{rate['total']})")
    if "fd_shapes" in metrics:
        click.echo(f"FD_shapes {metrics['fd_shapes']['fd']:.3f} (real-vs-real floor {metrics['fd_shapes']['floor']:.3f})")
    click.echo(f"wrote {out / 'metrics.json'}, {out / 'report.html'}")
