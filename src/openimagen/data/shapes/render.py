"""Drawing a spec with Pillow: anti-aliased by drawing at 4x and box-filtering down (exact pixel coverage)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from openimagen.data.shapes.layout import Placed, layout
from openimagen.data.shapes.spec import Spec, as_spec
from openimagen.data.shapes.vocab import PALETTE

_SUPERSAMPLE = 4
BACKGROUND = (255, 255, 255)


def draw(objects: list[Placed], size: int) -> Image.Image:
    """Draw placed objects on a white `size` x `size` canvas."""
    big = size * _SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), BACKGROUND)
    pen = ImageDraw.Draw(canvas)
    for obj in objects:
        x0, y0 = (obj.cx - obj.side / 2) * big, (obj.cy - obj.side / 2) * big
        x1, y1 = x0 + obj.side * big, y0 + obj.side * big
        color = PALETTE[obj.color]
        if obj.shape == "circle":
            pen.ellipse([x0, y0, x1, y1], fill=color)
        elif obj.shape == "square":
            pen.rectangle([x0, y0, x1, y1], fill=color)
        else:  # triangle pointing up, base = height = side
            pen.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=color)
    return canvas.resize((size, size), Image.BOX)


def render(spec: Spec | dict[str, Any], size: int = 64, seed: int = 0) -> Image.Image:
    """Draw any valid spec at `size` px; free choices (places, unspecified sizes) come from `seed`.

    The layout lives in unit coordinates, so one seed gives the same scene at every resolution.
    """
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size={size!r}: must be an integer >= 16 pixels")
    spec = as_spec(spec)
    return draw(layout(spec, np.random.default_rng(seed)), size)
