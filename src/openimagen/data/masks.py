"""Random masks for training an inpainting stage (1 = regenerate): boxes, brush strokes (as LaMa's / Imagen
Editor's free-form masks), object boxes (a foreground blob on a plain background, e.g. a shapes-world object, with
a margin) and full masks (the stage then still generates whole images). One generator per sample."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

MASK_KINDS = ("box", "brush", "object", "full")
DEFAULT_MIX = {"box": 0.3, "brush": 0.3, "object": 0.3, "full": 0.1}
FOREGROUND = 0.1             # a pixel differing from the background colour by more than this (in [-1, 1]) is an object


def _uniform(generator: torch.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def box_mask(size: int, generator: torch.Generator, min_side: float = 0.15, max_side: float = 0.7) -> np.ndarray:
    """A rectangle of sides in [min_side, max_side] x size at a random place."""
    mask = np.zeros((size, size), dtype=bool)
    w, h = (max(1, round(_uniform(generator, min_side, max_side) * size)) for _ in range(2))
    left, top = round(_uniform(generator) * (size - w)), round(_uniform(generator) * (size - h))
    mask[top:top + h, left:left + w] = True
    return mask


def brush_mask(size: int, generator: torch.Generator, strokes: int = 3) -> np.ndarray:
    """1..strokes random walks of thick line segments (width 5-15 % of the side)."""
    canvas = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(canvas)
    for _ in range(1 + int(_uniform(generator) * strokes)):
        x, y = _uniform(generator) * size, _uniform(generator) * size
        width = max(1, round(_uniform(generator, 0.05, 0.15) * size))
        for _ in range(2 + int(_uniform(generator) * 4)):
            angle, length = _uniform(generator, 0, 2 * np.pi), _uniform(generator, 0.1, 0.4) * size
            end = (min(max(x + length * np.cos(angle), 0), size - 1), min(max(y + length * np.sin(angle), 0), size - 1))
            pen.line([(x, y), end], fill=255, width=width)
            pen.ellipse([end[0] - width / 2, end[1] - width / 2, end[0] + width / 2, end[1] + width / 2], fill=255)
            x, y = end
    return np.asarray(canvas) > 0


def object_box_mask(image: torch.Tensor, generator: torch.Generator, max_margin: float = 0.1) -> np.ndarray | None:
    """The box of one random foreground blob of `image` [c, h, w] (pixels unlike the border's median colour,
    8-connected) grown by a random margin up to `max_margin` x side; None if the image has no foreground."""
    from scipy import ndimage

    pixels = image.detach().float().cpu().numpy()
    border = np.concatenate([pixels[:, 0], pixels[:, -1], pixels[:, :, 0], pixels[:, :, -1]], axis=1)
    background = np.median(border, axis=1)[:, None, None]
    labels, count = ndimage.label(np.abs(pixels - background).max(axis=0) > FOREGROUND, structure=np.ones((3, 3)))
    if count == 0:
        return None
    rows, cols = ndimage.find_objects(labels)[int(_uniform(generator) * count)]
    side = image.shape[-1]
    margin = round(_uniform(generator) * max_margin * side)
    mask = np.zeros(image.shape[-2:], dtype=bool)
    mask[max(rows.start - margin, 0):rows.stop + margin, max(cols.start - margin, 0):cols.stop + margin] = True
    return mask


def check_mix(mix: Mapping[str, float]) -> None:
    """ValueError unless `mix` maps kinds of MASK_KINDS to weights >= 0 with a positive sum."""
    unknown = sorted(set(mix) - set(MASK_KINDS))
    if unknown or not mix:
        raise ValueError(f"mask kinds must be some of {list(MASK_KINDS)}, got {sorted(mix)}")
    if any(not isinstance(w, (int, float)) or w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"mask weights must be numbers >= 0 with a positive sum, got {dict(mix)}")


def random_masks(images: torch.Tensor, generators: Sequence[torch.Generator],
                 mix: Mapping[str, float] | None = None) -> torch.Tensor:
    """[b, 1, h, w] float masks for images [b, c, h, w] (square), one kind per sample drawn from `mix`
    (kind -> weight, default DEFAULT_MIX); an "object" draw on an image without foreground becomes a box."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    kinds, weights = list(mix), torch.tensor([float(mix[k]) for k in mix])
    size = images.shape[-1]
    masks = []
    for image, generator in zip(images, generators, strict=True):
        kind = kinds[int(torch.multinomial(weights, 1, generator=generator))]
        mask = None
        if kind == "object":
            mask = object_box_mask(image, generator)
        elif kind == "brush":
            mask = brush_mask(size, generator)
        elif kind == "full":
            mask = np.ones((size, size), dtype=bool)
        masks.append(box_mask(size, generator) if mask is None else mask)
    return torch.from_numpy(np.stack(masks)).float()[:, None].to(images.device)
