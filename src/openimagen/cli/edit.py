"""`openimagen edit`: inpaint the white part of a mask, or outpaint a padded canvas, from a prompt with a cascade
(default: the shipped model); each PNG stores its recipe and its inputs like `openimagen sample`'s."""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command
from openimagen.cli.checks import check_positive_ints
from openimagen.cli.model_folder import model_fingerprint, read_saved_config, resolve_model
from openimagen.cli.prompt_checks import check_prompts_are_utf8, note_empty_prompts
from openimagen.cli.sample import check_numbers, load_cascade, new_recipe, sampling_options
from openimagen.cli.sample_output import SampleWriter, check_output, output_paths
from openimagen.cli.threads import set_threads

EXAMPLES = """
\b
Examples:
  openimagen edit scene.png --mask mask.png "a blue square" -o edited.png     # white in the mask = regenerate
  openimagen edit scene.png --pad 16,0,16,0 "three red circles" -o wider.png  # extend left and right (outpaint)
  openimagen edit scene.png --mask mask.png "a green circle" --jump-n-sample 5 --num-images 4
"""


def parse_pad(_ctx, _param, value: str | None) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise UserError(f"--pad {value}: expected LEFT,TOP,RIGHT,BOTTOM pixels (4 integers >= 0), e.g. 16,0,16,0")
    return tuple(int(p) for p in parts)


def open_input(path: str, option: str):
    """The decoded image at `path` (any format Pillow reads); UserError naming the option otherwise."""
    from PIL import Image, UnidentifiedImageError

    if Path(path).is_dir():
        raise UserError(f"{option} {path} is a folder, not an image file")
    if not Path(path).is_file():
        raise UserError(f"{option} {path}: no such file")
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UserError(f"{option} {path}: not an image Pillow can read ({error})") from error


def check_not_an_input(out: Path, count: int, inputs: dict[str, str | None]) -> None:
    """None of the `count` output paths (out.png, or out-000.png ...) is one of the input files (option -> path):
    the edit would replace its own IMAGE or --mask."""
    for path in output_paths(out, count):
        for option, given in inputs.items():
            if given is not None and (path.resolve() == Path(given).resolve()
                                      or path.exists() and path.samefile(given)):
                raise UserError(f"-o {out} would overwrite {option} {given} with the edit ({path}); choose another "
                                f"output name")


def check_mask_is_visible(mask_image, mask: str) -> None:
    """A fully transparent mask is refused: its grey values (which the edit reads; alpha is ignored) are invisible, so
    an all-white one would silently regenerate the whole image."""
    if mask_image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in mask_image.info:
        if mask_image.convert("RGBA").getchannel("A").getextrema()[1] == 0:
            raise UserError(f"--mask {mask} is fully transparent; masks are read by grey value (white = regenerate, "
                            "alpha ignored): save it opaque, white where the image should change")


def file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@click.command(epilog=EXAMPLES, cls=Command)
@click.argument("image", metavar="IMAGE")
@click.argument("prompts", nargs=-1, metavar="PROMPT...")
@click.option("--mask", default=None, metavar="MASK",
              help="Image whose white pixels (grey >= 128) are regenerated; any mode. A mask of another size "
                   "but the image's aspect ratio is resized with nearest.")
@click.option("--pad", default=None, callback=parse_pad, metavar="L,T,R,B",
              help="Outpaint: extend the image by these pixels (left, top, right, bottom); the canvas is scaled "
                   "to the model's resolution.")
@click.option("-o", "--output", default="edited.png", show_default=True,
              help="PNG to write; with several images out-000.png, out-001.png, ...")
@click.option("--model", default=None, metavar="DIR", help="Saved cascade folder.  [default: the shipped model]")
@click.option("--method", type=click.Choice(["repaint", "naive", "trained"]), default="repaint", show_default=True,
              help="repaint: RePaint at every stage; naive: sample, then paste the kept pixels back; trained: the "
                   "model's inpainting stages (task = 'inpaint').")
@click.option("--jump-length", type=int, default=1, show_default=True, help="RePaint: steps per jump back.")
@click.option("--jump-n-sample", type=int, default=1, show_default=True,
              help="RePaint: passes over each jump (1 = no resampling; 5-10 harmonise better, cost more).")
@sampling_options
def edit(image, prompts, mask, pad, output, model, method, jump_length, jump_n_sample, num_images, seed, steps,
         guidance, guidance_interval, sampler, threshold, aug_level, gamma, eta, batch_size, threads) -> None:
    """Regenerate part of IMAGE from PROMPT: the white part of --mask (inpainting), or the border --pad adds
    (outpainting). Pixels outside the mask are kept exactly (at the model's resolution: IMAGE is centre-cropped
    to a square and resized to it, unless it already is). docs/editing.md has the method and benchmarks."""
    check_numbers(num_images, seed, steps, guidance, aug_level, threads, batch_size, gamma, eta)
    check_positive_ints(jump_length=jump_length, jump_n_sample=jump_n_sample)
    out = Path(output)
    check_output(out)
    if (mask is None) == (pad is None):
        raise UserError("give either --mask MASK (inpaint) or --pad L,T,R,B (outpaint)")
    if not prompts:
        raise UserError('give a PROMPT after IMAGE, e.g. openimagen edit scene.png --mask mask.png "a red circle"')
    check_prompts_are_utf8(list(prompts))
    note_empty_prompts(list(prompts))
    check_not_an_input(out, len(prompts) * (num_images or 1), {"IMAGE": image, "--mask": mask})
    source = open_input(image, "IMAGE")
    mask_image = open_input(mask, "--mask") if mask is not None else None
    if mask_image is not None:
        check_mask_is_visible(mask_image, mask)
    folder = resolve_model(model)
    saved = read_saved_config(folder)
    if method == "trained" and not any(s.get("task") == "inpaint" for s in saved["cascade"]["stages"]):
        raise UserError(f"--method trained: {folder} has no stage trained with task = 'inpaint' (use --method "
                        "repaint, or train one: docs/editing.md)")
    fingerprint = model_fingerprint(folder, saved)
    set_threads(threads)
    cascade = load_cascade(folder, list(prompts))
    import torch

    recipe = new_recipe(cascade.config, prompts, num_images, seed, steps, guidance, sampler, threshold, aug_level,
                        None, batch_size, torch.get_num_threads(), gamma, eta, guidance_interval)
    inputs = {"image": str(Path(image).resolve()), "image_sha256": file_digest(image), "method": method,
              "jump_length": jump_length, "jump_n_sample": jump_n_sample}
    inputs.update({"mask": str(Path(mask).resolve()), "mask_sha256": file_digest(mask)} if mask else {"pad": list(pad)})
    writer = SampleWriter(out, recipe, folder, fingerprint, None, {"format": "openimagen-edit", "edit": inputs})
    start = time.perf_counter()
    try:
        names = {"image": f"IMAGE {image}", "mask": f"--mask {mask}", "pad": f"--pad {pad and ','.join(map(str, pad))}",
                 "method": f"--method {method}"}
        run_edit(cascade, recipe, source, mask_image, pad, method, jump_length, jump_n_sample, writer, names)
    except KeyboardInterrupt:
        click.echo(f"interrupted: wrote {len(writer.written)} of {writer.total} image(s)", err=True)
        sys.exit(130)
    click.echo(f"edited {writer.total} image(s) in {time.perf_counter() - start:.1f} s (seed {recipe.seed}, "
               f"{torch.get_num_threads()} thread(s)); wrote {writer.size}: {writer.summary()}")


def run_edit(cascade, recipe, source, mask_image, pad, method, jump_length, jump_n_sample, writer,
             names: dict[str, str]) -> None:
    """`Cascade.inpaint` / `outpaint` with the recipe's settings; an unusable input is one UserError naming it
    (`names[input]`; raised before anything is sampled or written)."""
    from openimagen.cascade.editing import EditInputError

    options = dict(num_images_per_prompt=recipe.num_images, seed=recipe.seed, method=method,
                   jump_length=jump_length, jump_n_sample=jump_n_sample, stage_overrides=recipe.settings,
                   max_batch_size=recipe.max_batch_size, progress=sys.stderr.isatty(), on_batch=writer.on_batch)
    try:
        if pad is None:
            cascade.inpaint(recipe.prompts, source, mask_image, **options)
        else:
            cascade.outpaint(recipe.prompts, source, pad, **options)
    except EditInputError as error:
        raise UserError(f"{names[error.input]}: {error}") from error
