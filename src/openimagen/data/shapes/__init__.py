"""The shapes world: a procedurally rendered compositional text-to-image world whose truth is known (issue 6)."""

from openimagen.data.shapes.layout import Placed, layout
from openimagen.data.shapes.render import draw, render
from openimagen.data.shapes.spec import ObjectGroup, Spec, SpecError, load_prompts, write_prompts
from openimagen.data.shapes.vocab import CATEGORIES, COLORS, PALETTE, POSITIONS, RELATIONS, SHAPES, SIZES

__all__ = ["CATEGORIES", "COLORS", "PALETTE", "POSITIONS", "RELATIONS", "SHAPES", "SIZES", "ObjectGroup", "Placed",
           "Spec", "SpecError", "draw", "layout", "load_prompts", "render", "write_prompts"]
