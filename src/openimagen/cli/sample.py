"""`openimagen sample`: prompts -> PNGs with a cascade (default: the shipped model); each PNG stores its recipe."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command, hide_weight_loading_bar
from openimagen.cli.checks import check_float, check_positive_ints, check_seed, guidance_interval_option, sampler_option
from openimagen.cli.model_folder import model_fingerprint, read_saved_config, resolve_model
from openimagen.cli.pngmeta import read_record
from openimagen.cli.prompt_checks import (check_prompt_lengths, check_prompts_are_utf8, note_empty_prompts,
                                         warn_unknown_prompts)
from openimagen.cli.recipe import Recipe, resolve_settings, run_recipe
from openimagen.cli.sample_output import SampleWriter, check_output
from openimagen.cli.threads import set_threads

RECIPE_OPTIONS = ("num_images", "seed", "steps", "guidance", "guidance_interval", "sampler", "threshold", "aug_level",
                  "gamma", "eta", "stop_at_stage", "grid", "batch_size")

EXAMPLES = """
\b
Examples:
  openimagen sample "a red circle above a blue square"
  openimagen sample "a red circle" "two green triangles" --num-images 4 --grid -o grid.png
  openimagen sample "a yellow triangle" --seed 7 --steps 50 --guidance 3 --sampler ddim -o triangle.png
  openimagen sample "a green circle" --sampler ddim --eta 1 -o stochastic.png    # DDIM with DDPM-like noise
  openimagen sample "a blue square" --stop-at-stage 1 -o low-res.png   # stage 1 only (e.g. 32x32)
  openimagen sample --from-png triangle.png -o again.png               # re-run the recipe stored in a PNG
"""


def check_numbers(num_images, seed, steps, guidance, aug_level, threads, batch_size, gamma=None, eta=None) -> None:
    check_positive_ints(num_images=num_images, steps=steps, threads=threads, batch_size=batch_size)
    check_seed(seed)
    check_float("--guidance", guidance, low=0, meaning="1 = no guidance, 0 = unconditional")
    check_float("--aug-level", aug_level, 0, 1, meaning="noise level of the low-res conditioning")
    check_float("--gamma", gamma, 0, 1, meaning="the ancestral sampler's variance interpolation")
    check_float("--eta", eta, low=0, meaning="DDIM's stochasticity, 0 = deterministic, 1 = DDPM-like")


def warn_unused_sampler_options(settings: dict[int, dict], gamma, eta) -> None:
    """--gamma only changes the ancestral sampler, --eta only DDIM: say so when no stage runs that sampler."""
    samplers = {values["sampler"] for values in settings.values()}
    for option, value, sampler in (("--gamma", gamma, "ancestral"), ("--eta", eta, "ddim")):
        if value is not None and sampler not in samplers:
            click.echo(f"warning: {option} {value} has no effect: it applies to the {sampler} sampler and the stages "
                       f"run {', '.join(sorted(samplers))} (add --sampler {sampler})", err=True)


def load_cascade(folder: Path, prompts: list[str]):
    """The cascade with its text encoder loaded (errors from either become one line)."""
    from openimagen.cascade import Cascade
    from openimagen.cascade.saved_folder import ModelFolderError
    from openimagen.text import EncoderNotFoundError

    hide_weight_loading_bar()
    try:
        cascade = Cascade.from_pretrained(folder)
        check_prompt_lengths(cascade.embedder.encoder, prompts)
        warn_unknown_prompts(cascade.embedder.encoder, prompts)
    except ModelFolderError as error:                     # the message names the file
        raise UserError(str(error)) from error
    except (EncoderNotFoundError, FileNotFoundError, ValueError) as error:
        raise UserError(f"--model {folder}: {error}") from error
    return cascade


def new_recipe(config, prompts, num_images, seed, steps, guidance, sampler, threshold, aug_level, stop_at_stage,
               batch_size, threads, gamma=None, eta=None, guidance_interval=None) -> Recipe:
    stages = len(config.stages)
    if stop_at_stage is not None and not 1 <= stop_at_stage <= stages:
        raise UserError(f"--stop-at-stage {stop_at_stage}: the model has stages 1..{stages}")
    stop = stop_at_stage or stages
    settings = resolve_settings(config, stop, steps=steps, guidance_scale=guidance, threshold=threshold,
                                sampler=sampler, aug_level=aug_level, gamma=gamma, eta=eta,
                                guidance_interval=guidance_interval)
    warn_unused_sampler_options(settings, gamma, eta)
    return Recipe(prompts=list(prompts), num_images=num_images or 1,
                  seed=secrets.randbelow(2**31) if seed is None else seed, settings=settings, stop_at_stage=stop,
                  max_batch_size=batch_size or 16, threads=threads)


def recipe_from_png(ctx: click.Context, png: str, prompts, model: str | None) -> tuple[Recipe, dict, str | None]:
    given = [f"--{name.replace('_', '-')}" for name in RECIPE_OPTIONS
             if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
    if prompts or given:
        what = "PROMPT arguments" if prompts else " ".join(given)
        raise UserError(f"--from-png re-runs the recipe stored in {png}; drop {what} (or sample anew without it)")
    if Path(png).is_dir():
        raise UserError(f"--from-png {png} is a folder; pass a PNG written by `openimagen sample`")
    if not Path(png).is_file():
        raise UserError(f"--from-png {png}: no such file")
    try:
        record = read_record(png)
        recipe = Recipe.from_dict(record["recipe"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:     # a damaged or foreign record
        named = str(error).startswith(str(png))                                     # read_record names the file
        raise UserError(f"--from-png {error}" if named else f"--from-png {png}: {error}") from error
    if record.get("format") == "openimagen-edit":
        raise UserError(f"--from-png {png} was written by `openimagen edit`; its recipe needs the input image, so "
                        "re-run that edit command (its inputs are in the record)")
    image, total = record.get("image"), len(recipe.prompts) * recipe.num_images
    if image != "grid" and not (isinstance(image, int) and 0 <= image < total):
        raise UserError(f"--from-png {png}: the record's image index {image!r} is not 'grid' or in 0..{total - 1}")
    if model is None and not record.get("shipped_model", False):
        model = record.get("model")
        if not isinstance(model, str) or not (Path(model) / "config.json").is_file():
            raise UserError(f"--from-png {png}: the model folder it was made with ({model}) is gone or is no "
                            "saved cascade; pass --model DIR (the same model, or another one)")
    return recipe, record, model


SAMPLING_OPTIONS = [
    click.option("--num-images", type=int, default=None, help="Images per prompt.  [default: 1]"),
    click.option("--seed", type=int, default=None, help="Random seed.  [default: random, printed and stored]"),
    click.option("--steps", type=int, default=None, help="Sampler steps per stage.  [default: the model's]"),
    click.option("--guidance", type=float, default=None,
                 help="Classifier-free guidance weight w (1 = off).  [default: the model's]"),
    guidance_interval_option(),
    sampler_option(),
    click.option("--threshold", type=click.Choice(["none", "static", "dynamic"]), default=None,
                 help="x0 thresholding (Imagen Sec. 2.3).  [default: the model's]"),
    click.option("--aug-level", type=float, default=None,
                 help="Noise-conditioning augmentation level of the super-resolution stages, in [0, 1].  "
                      "[default: the model's]"),
    click.option("--gamma", type=float, default=None, help="Ancestral sampler: variance interpolation in [0, 1] "
                                                           "(0 = DDPM posterior).  [default: the model's]"),
    click.option("--eta", type=float, default=None,
                 help="DDIM: stochasticity >= 0 (0 = deterministic, 1 = DDPM-like).  [default: the model's]"),
    click.option("--batch-size", type=int, default=None, help="Images sampled at once.  [default: 16]"),
    click.option("--threads", type=int, default=None,
                 help="torch CPU threads.  [default: the cores the load average leaves free, at least 1]"),
]


def sampling_options(command):
    """The sampling settings `sample` and `edit` share (checked by `check_numbers`, resolved by `new_recipe`)."""
    for option in reversed(SAMPLING_OPTIONS):
        command = option(command)
    return command


@click.command(epilog=EXAMPLES, cls=Command)
@click.argument("prompts", nargs=-1, metavar="[PROMPT]...")
@click.option("-o", "--output", default="sample.png", show_default=True,
              help="PNG to write; with several images out-000.png, out-001.png, ... (or one grid with --grid). "
                   "Existing files of those names are overwritten.")
@click.option("--model", default=None, metavar="DIR",
              help="Saved cascade folder (Cascade.save_pretrained). Default: the model shipped with openimagen.")
@sampling_options
@click.option("--stop-at-stage", type=int, default=None, help="Last stage to run (1 = base resolution only).")
@click.option("--grid", is_flag=True, help="Write one PNG: a row per prompt, a column per image.")
@click.option("--from-png", "from_png", metavar="PNG", default=None,
              help="Re-run the recipe stored in a PNG written by this command (same pixels with the same model).")
@click.pass_context
def sample(ctx, prompts, output, model, num_images, seed, steps, guidance, guidance_interval, sampler, threshold,
           aug_level, gamma, eta, stop_at_stage, grid, batch_size, threads, from_png) -> None:
    """Sample images for one or more PROMPTs and write them as PNGs.

    Settings not given come from the model's own per-stage defaults (see `openimagen info`). Every PNG stores the
    prompt, seed, model and all settings as JSON in its text metadata; `--from-png` re-runs it. An empty prompt ""
    samples unconditionally (Imagen's empty caption for classifier-free guidance).
    """
    run_sample(ctx, prompts, Path(output), model, num_images, seed, steps, guidance, sampler, threshold, aug_level,
               stop_at_stage, grid, batch_size, threads, from_png, gamma, eta, guidance_interval)


def run_sample(ctx, prompts, out, model, num_images, seed, steps, guidance, sampler, threshold, aug_level,
               stop_at_stage, grid, batch_size, threads, from_png, gamma=None, eta=None,
               guidance_interval=None) -> None:
    import torch

    check_numbers(num_images, seed, steps, guidance, aug_level, threads, batch_size, gamma, eta)
    check_output(out)
    record = recipe = None
    if from_png:
        if out.resolve() == Path(from_png).resolve():
            raise UserError(f"-o {out} would overwrite --from-png {from_png}, the record it re-runs; choose another "
                            "output name")
        recipe, record, model = recipe_from_png(ctx, from_png, prompts, model)
        prompts, threads = recipe.prompts, threads or recipe.threads
    elif not prompts:
        raise UserError('give at least one PROMPT, e.g. openimagen sample "a red circle" (use "" for an '
                        "unconditional sample)")
    check_prompts_are_utf8(list(prompts))
    note_empty_prompts(list(prompts))
    folder = resolve_model(model)
    fingerprint = model_fingerprint(folder, read_saved_config(folder))
    if record is not None and record.get("model_fingerprint") != fingerprint:
        click.echo(f"warning: {folder} is not the model that made {from_png} (fingerprint {fingerprint}, the PNG "
                   f"says {record.get('model_fingerprint')}); the images will differ", err=True)
    set_threads(threads)
    cascade = load_cascade(folder, list(prompts))
    if recipe is None:
        recipe = new_recipe(cascade.config, prompts, num_images, seed, steps, guidance, sampler, threshold,
                            aug_level, stop_at_stage, batch_size, torch.get_num_threads(), gamma, eta,
                            guidance_interval)
    which = record["image"] if record is not None else ("grid" if grid else None)
    writer = SampleWriter(out, recipe, folder, fingerprint, which)
    start = time.perf_counter()
    try:
        images = run_recipe(cascade, recipe, progress=sys.stderr.isatty(), on_batch=writer.on_batch)
    except KeyboardInterrupt:
        kept = f" ({writer.summary()})" if writer.written else ""
        click.echo(f"interrupted: wrote {len(writer.written)} of {writer.total} image(s){kept}", err=True)
        sys.exit(130)
    seconds = time.perf_counter() - start
    writer.finish(images)
    click.echo(f"sampled {writer.total} image(s) in {seconds:.1f} s (seed {recipe.seed}, "
               f"{torch.get_num_threads()} thread(s)); wrote {writer.size}: {writer.summary()}")
