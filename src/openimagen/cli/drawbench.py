"""`openimagen drawbench generate`: N images per prompt of a DrawBench-style sheet into a run folder, resumable and
spread over processes under `accelerate launch` (prompt p goes to process p mod N)."""

from __future__ import annotations

import os
import sys
import time
import warnings

import click

from openimagen.cli import UserError
from openimagen.cli.checks import guidance_interval_option, sampler_option
from openimagen.cli.command import Command

EXAMPLES = """
\b
Examples:
  openimagen drawbench generate --prompts drawbench.csv --out runs/shipped        # the shipped model, 8 per prompt
  openimagen drawbench generate --model my-model --prompts drawbench.csv --seed 0 --out runs/mine
  accelerate launch --num_processes 4 $(which openimagen) drawbench generate --model my-model \\
      --prompts drawbench.csv --out runs/mine                                    # 4 GPUs share the prompts
"""


@click.group("drawbench")
def drawbench() -> None:
    """DrawBench-style runs (Imagen Sec. 4.3): generate image sets per prompt, then rate them with `openimagen rate`."""


def process_state():
    """Accelerate's view of this launch (process_index, num_processes, device): one process unless started by
    `accelerate launch` or torchrun (multi-process CPU runs need Accelerate's `cpu=True`)."""
    import torch
    from accelerate import PartialState

    multi_process = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return PartialState(cpu=multi_process and not torch.cuda.is_available())


@drawbench.command("generate", epilog=EXAMPLES, cls=Command)
@click.option("--model", default=None, metavar="DIR", help="Saved cascade folder.  [default: the shipped model]")
@click.option("--prompts", "prompts_file", required=True, metavar="FILE",
              help="CSV with the columns Prompts,Category (the DrawBench sheet) or JSONL with prompt, category.")
@click.option("--out", "out_dir", required=True, metavar="DIR", help="Run folder: run.json, prompts.jsonl, images/.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--images-per-prompt", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Sampler steps per stage.  [default: the model's]")
@click.option("--guidance", type=click.FloatRange(min=0), default=None, help="Guidance weight.  [default: the model's]")
@guidance_interval_option()
@sampler_option()
@click.option("--threshold", type=click.Choice(["none", "static", "dynamic"]), default=None)
@click.option("--stop-at-stage", type=click.IntRange(min=1), default=None, help="Last stage to run (1 = base).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N prompts (quick looks).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
def generate(model, prompts_file, out_dir, seed, images_per_prompt, steps, guidance, guidance_interval, sampler,
             threshold, stop_at_stage, limit, threads) -> None:
    """Generate --images-per-prompt images for every prompt; rerun the same command to resume."""
    import torch
    from tqdm.auto import tqdm

    from openimagen.cli.model_folder import model_fingerprint, read_saved_config, resolve_model
    from openimagen.cli.recipe import resolve_settings
    from openimagen.cli.sample import load_cascade
    from openimagen.eval.drawbench import PromptsError, missing_images, read_prompts, start_run
    from openimagen.text import TruncationWarning

    if threads:
        torch.set_num_threads(threads)
    try:
        prompts = read_prompts(prompts_file)[:limit]
    except PromptsError as error:
        raise UserError(str(error)) from error
    folder = resolve_model(model)
    fingerprint = model_fingerprint(folder, read_saved_config(folder))
    state = process_state()
    cascade = load_cascade(folder, []).to(state.device)
    stages = len(cascade.config.stages)
    if stop_at_stage is not None and stop_at_stage > stages:
        raise UserError(f"--stop-at-stage {stop_at_stage}: the model has stages 1..{stages}")
    settings = resolve_settings(cascade.config, stop_at_stage or stages, steps=steps, guidance_scale=guidance,
                                guidance_interval=guidance_interval, sampler=sampler, threshold=threshold)
    record = {"format": "openimagen-drawbench-run", "version": 1, "model": str(folder.resolve()),
              "model_fingerprint": fingerprint, "seed": seed, "images_per_prompt": images_per_prompt,
              "stop_at_stage": stop_at_stage or stages, "settings": {str(k): v for k, v in settings.items()}}
    if state.is_main_process:
        try:
            start_run(out_dir, prompts, record)
        except (PromptsError, OSError) as error:
            raise UserError(f"--out {out_dir}: {error}" if isinstance(error, OSError) else str(error)) from error
        warn_long_prompts(cascade.embedder.encoder, prompts)
    state.wait_for_everyone()
    mine = [p for p in prompts if p.index % state.num_processes == state.process_index]
    todo = [p for p in mine if missing_images(out_dir, p, images_per_prompt)]
    start = time.perf_counter()
    bar = tqdm(todo, unit="prompt", desc="drawbench", disable=not state.is_main_process or None)
    who = f"process {state.process_index}: " if state.num_processes > 1 else ""
    written, prompts_done = 0, 0
    try:
        with warnings.catch_warnings():           # cut prompts: said once above, not in Python's warning format
            warnings.simplefilter("ignore", TruncationWarning)
            for prompt in bar:
                written += generate_prompt(cascade, prompt, out_dir, record, settings, fingerprint, folder)
                prompts_done += 1
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"{who}interrupted: wrote {written} image(s) for {prompts_done} of {len(todo)} prompt(s) to "
                   f"{out_dir}; rerun the same command to resume", err=True)
        sys.exit(130)
    state.wait_for_everyone()
    skipped = len(mine) - len(todo)
    click.echo(f"{who}wrote {written} image(s) for {len(todo)} prompt(s) in "
               f"{time.perf_counter() - start:.1f} s; {skipped} prompt(s) were already complete; run in {out_dir}",
               err=state.num_processes > 1)
    sys.stdout.flush()


def warn_long_prompts(encoder, prompts) -> None:
    """A benchmark keeps every prompt: ones longer than the text encoder reads are cut, with one warning."""
    tokenizer = getattr(encoder, "tokenizer", None)
    if tokenizer is None:
        return
    long = [p for p in prompts if len(tokenizer(p.prompt)["input_ids"]) > encoder.max_length]
    if long:
        click.echo(f"warning: {len(long)} prompt(s) are longer than the {encoder.max_length} tokens the model's text "
                   f"encoder reads and are cut (the first: prompt {long[0].index}, {long[0].prompt[:40]!r})", err=True)


def generate_prompt(cascade, prompt, out_dir, record, settings, fingerprint, folder) -> int:
    """Sample all images of one prompt (with its own seed) and write the missing ones; returns how many."""
    import torch

    from openimagen.cli.pngmeta import save_png
    from openimagen.cli.recipe import Recipe, run_recipe
    from openimagen.cli.sample_output import sample_record
    from openimagen.eval.drawbench import image_path, missing_images, prompt_seed

    count = record["images_per_prompt"]
    recipe = Recipe(prompts=[prompt.prompt], num_images=count, seed=prompt_seed(record["seed"], prompt.index),
                    settings=settings, stop_at_stage=record["stop_at_stage"], max_batch_size=count,
                    threads=torch.get_num_threads())
    images = run_recipe(cascade, recipe)
    missing = missing_images(out_dir, prompt, count)
    for k in missing:
        try:
            save_png(images[k], image_path(out_dir, prompt.index, k),
                     sample_record(recipe, folder, fingerprint, k, prompt.prompt))
        except OSError as error:
            raise UserError(f"--out {out_dir}: cannot write {image_path(out_dir, prompt.index, k)} "
                            f"({error.strerror or error})") from error
    return len(missing)
