"""Editing with a cascade (Imagen Editor, Imagen 2): regenerate the masked part of an image from a prompt at every
stage, keeping the rest exactly; outpainting is inpainting on a larger canvas. Methods:

- "repaint": RePaint (Lugmayr et al. 2022) at every stage, any trained cascade, no retraining;
- "naive": sample the whole image from the prompt, then paste the known region back (the baseline);
- "trained": stages trained with `task = "inpaint"` are conditioned on the masked image + mask, the others repaint.

Each stage sees the image and the mask at its own resolution (the mask resized with nearest), SR stages the
previous stage's edited output; after every stage the known region is pasted back, so outside the mask the final
image equals the input (resized to the output resolution if it was not that size) pixel for pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from openimagen.cascade.pipeline import (SAMPLING_KEYS, Cascade, check_count, check_on_batch, check_seed, new_seed,
                                        per_output, prompt_list)
from openimagen.cascade.randomness import mix_seed
from openimagen.cascade.sampling import KnownRegion, center_square, from_pil
from openimagen.data import to_rgb

__all__ = ["METHODS", "EditInputError", "inpaint", "outpaint", "read_mask", "outpaint_canvas"]

METHODS = ("repaint", "naive", "trained")
WHITE = 128                 # mask pixels at least this bright (8-bit grey) are regenerated
CANVAS_FILL = (127, 127, 127)   # what the new area of an outpainting canvas holds before it is generated


class EditInputError(ValueError):
    """An edit's input cannot be used; `input` names which: "image", "mask", "pad" or "method"."""

    def __init__(self, input: str, message: str) -> None:
        super().__init__(message)
        self.input = input


def read_mask(mask: Image.Image, image: Image.Image) -> Image.Image:
    """A binary "L" mask (255 = regenerate) at `image`'s size from any single-channel or RGB(A) image: bright pixels
    (grey >= 128) are white. A mask of another size but the same aspect ratio is resized with nearest; another
    aspect ratio is a ValueError (the mask was probably made for another image)."""
    if not isinstance(mask, Image.Image):
        raise EditInputError("mask", f"mask must be a PIL image, got {type(mask).__name__}")
    if mask.mode in ("I", "I;16", "I;16B", "I;16L", "F"):          # 16/32-bit greys: white is the top half
        array = np.asarray(mask, dtype=np.float64)
        top = 65535.0 if mask.mode.startswith("I;16") or array.max() > 255 else 255.0
        grey = Image.fromarray(np.where(array >= top / 2, 255, 0).astype(np.uint8))
    else:
        grey = mask.convert("L").point(lambda value: 255 if value >= WHITE else 0)
    if grey.size != image.size:
        (mw, mh), (iw, ih) = grey.size, image.size
        if abs(mw * ih - mh * iw) > max(mw, mh, iw, ih):            # aspect ratios differ by more than a pixel
            raise EditInputError("mask", f"the mask is {mw}x{mh} but the image is {iw}x{ih}: another aspect ratio; "
                                 "give a mask of the image's size (one of the same shape is resized with nearest)")
        grey = grey.resize(image.size, Image.NEAREST)
    return grey


def stage_mask(mask: Image.Image, size: int) -> torch.Tensor:
    """[1, 1, size, size] in {0, 1}: the centre square of a binary mask, resized with nearest."""
    square = center_square(mask).resize((size, size), Image.NEAREST)
    return torch.from_numpy(np.asarray(square) >= WHITE).float()[None, None]


def _how(method: str, task: str, last: bool) -> str | None:
    if method == "naive":
        return "paste" if last else None
    return "condition" if method == "trained" and task == "inpaint" else "repaint"


def inpaint(cascade: Cascade, prompts: str | list[str], image: Any, mask: Any, num_images_per_prompt: int = 1,
            seed: int | None = None, method: str = "repaint", jump_length: int = 1, jump_n_sample: int = 1, *,
            stage_overrides: dict[int, dict] | None = None, stop_at_stage: int | None = None,
            max_batch_size: int = 16, progress: bool = True, on_batch=None, return_all_stages: bool = False,
            **sampling: Any) -> list[Image.Image] | dict[int, list[Image.Image]]:
    """Regenerate the white part of `mask` from the prompt(s) and keep the rest of `image` (PIL images; one, one per
    prompt or one per output). Non-square images are centre-cropped like `start_image`. `sampling` takes the
    keywords of `Cascade.__call__` (steps, guidance_scale, sampler, ...); `jump_length` / `jump_n_sample` are
    RePaint's resampling (1, 1 = none). An all-white mask is plain sampling (the same images as `cascade(...)`
    with the same seed); a mask with no white pixel at the output resolution is a ValueError."""
    prompts = prompt_list(prompts)
    unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
    if unknown:
        raise TypeError(f"inpaint() got unknown keyword(s) {unknown}")
    if method not in METHODS:
        raise EditInputError("method", f"method: expected one of {list(METHODS)}, got {method!r}")
    stages = cascade.config.stages
    if method == "trained" and not any(stage.task == "inpaint" for stage in stages):
        raise EditInputError("method", "method='trained' needs a stage trained with task = 'inpaint'; this cascade "
                             "has none (use method='repaint', or train one: docs/editing.md)")
    for name, count in (("jump_length", jump_length), ("jump_n_sample", jump_n_sample),
                        ("num_images_per_prompt", num_images_per_prompt), ("max_batch_size", max_batch_size)):
        check_count(name, count)
    check_seed(seed)
    check_on_batch(on_batch)
    last = cascade._last_stage(stop_at_stage)
    images = per_output(image, len(prompts), num_images_per_prompt, "image")
    masks = [read_mask(m, i) for m, i in zip(per_output(mask, len(prompts), num_images_per_prompt, "mask"), images)]
    settings = cascade._stage_settings(range(1, last + 1), sampling, stage_overrides)
    known = {n: from_pil(images, stages[n - 1].resolution) for n in settings}
    regions = {n: torch.cat([stage_mask(m, stages[n - 1].resolution) for m in masks]) for n in settings}
    for index, region in enumerate(regions[last]):
        if not region.any():
            raise EditInputError("mask", f"mask {index + 1} has no white pixel at the output resolution "
                                 f"({stages[last - 1].resolution} px): nothing to regenerate")
    seed = new_seed() if seed is None else seed

    def known_for(number: int, start: int, end: int) -> KnownRegion | None:
        how, mask_part = _how(method, stages[number - 1].task, number == last), regions[number][start:end]
        if how is None or bool(mask_part.all()):                     # all white: plain sampling
            return None
        return KnownRegion(known[number][start:end], mask_part, how, jump_length, jump_n_sample,
                           torch.Generator().manual_seed(mix_seed(seed, start, number)))

    expanded = [p for p in prompts for _ in range(num_images_per_prompt)]
    outputs = cascade._sample_chain(expanded, settings, seed, None, max_batch_size, progress, on_batch, known_for)
    return outputs if return_all_stages else outputs[last]


def outpaint_canvas(image: Image.Image, pad: tuple[int, int, int, int], size: int) -> tuple[Image.Image, Image.Image]:
    """(canvas, mask) at `size` x `size`: `image` extended by `pad` = (left, top, right, bottom) of its own pixels,
    the whole scaled to fit the square (centred if it is not square); the mask is white outside the image."""
    if not isinstance(image, Image.Image):
        raise EditInputError("image", f"image must be a PIL image, got {type(image).__name__}")
    pad = tuple(pad) if isinstance(pad, (list, tuple)) else (pad,)
    if len(pad) != 4 or any(not isinstance(p, int) or isinstance(p, bool) or p < 0 for p in pad):
        raise EditInputError("pad", f"pad: expected 4 integers >= 0 (left, top, right, bottom), got {pad!r}")
    left, top, right, bottom = pad
    width, height = image.width + left + right, image.height + top + bottom
    scale = size / max(width, height)
    x0, y0 = (size - width * scale) / 2 + left * scale, (size - height * scale) / 2 + top * scale
    box = (round(x0), round(y0), round(x0 + image.width * scale), round(y0 + image.height * scale))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise EditInputError("pad", f"pad {list(pad)} leaves no pixel of the {image.width}x{image.height} image "
                             f"on the {size}x{size} canvas; use a smaller pad")
    if box == (0, 0, size, size):
        raise EditInputError("pad", f"pad {list(pad)} leaves nothing to generate on the {size}x{size} canvas")
    canvas = Image.new("RGB", (size, size), CANVAS_FILL)
    canvas.paste(to_rgb(image).resize((box[2] - box[0], box[3] - box[1]), Image.LANCZOS), box[:2])
    mask = Image.new("L", (size, size), 255)
    mask.paste(0, box)
    return canvas, mask


def outpaint(cascade: Cascade, prompts: str | list[str], image: Any, pad: tuple[int, int, int, int],
             num_images_per_prompt: int = 1, seed: int | None = None, method: str = "repaint",
             **settings: Any) -> list[Image.Image] | dict[int, list[Image.Image]]:
    """Extend `image` by `pad` (see `outpaint_canvas`, at the output resolution) and generate the new area with
    `inpaint` (same keywords). Padding every side is zooming out."""
    size = cascade.config.stages[cascade._last_stage(settings.get("stop_at_stage")) - 1].resolution
    prompts = prompt_list(prompts)
    images = per_output(image, len(prompts), num_images_per_prompt, "image")       # one per output
    pairs = [outpaint_canvas(im, pad, size) for im in images]
    canvases, masks = [c for c, _ in pairs], [m for _, m in pairs]
    return inpaint(cascade, prompts, canvases, masks, num_images_per_prompt, seed, method, **settings)
