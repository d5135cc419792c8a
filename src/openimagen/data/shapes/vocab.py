"""The shapes world's vocabulary and geometry: one source of truth shared by the renderer and the judge.

All geometry is in *unit* coordinates (the canvas is [0, 1] x [0, 1], y pointing down), so a scene is the same
at every resolution.
"""

from __future__ import annotations

SHAPES = ("circle", "square", "triangle")
SIZES = ("small", "large")
POSITIONS = ("left", "right", "top", "bottom", "center")
RELATIONS = ("left_of", "right_of", "above", "below")
CATEGORIES = ("colors", "shapes", "counting", "positional", "position", "sizes", "compound")

# Well-separated sRGB values (pairwise CIELAB distance >= 40, see tests/test_shapes_vocab.py).
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (215, 25, 35),
    "green": (25, 150, 45),
    "blue": (35, 75, 225),
    "yellow": (245, 215, 10),
    "purple": (145, 35, 185),
    "orange": (250, 130, 0),
    "black": (25, 25, 25),
}
COLORS = tuple(PALETTE)

MAX_COUNT = 4        # identical objects per group
MAX_OBJECTS = 6      # objects per scene, so that every scene stays legible at 32 px
MAX_GROUPS = 4

# Side of an object's bounding box (a circle's diameter, a triangle's base and height).
OBJECT_SIDE = {"small": 0.20, "large": 0.30}
# Fraction of its bounding box each shape covers (its area is FILL * side^2).
FILL = {"circle": 3.14159265 / 4, "square": 1.0, "triangle": 0.5}

BORDER = 0.03        # free margin between any object and the canvas edge
GAP = 0.07           # minimum free gap between the bounding boxes of two objects

# Renderer: where an object's centre goes for an absolute position / a relation (with a clear margin) ...
POSITION_RENDER = {"side": 0.33, "center": 0.06}    # left: cx <= 0.33; center: |cx-.5|, |cy-.5| <= 0.06
RELATION_RENDER = {"min_offset": 0.25, "max_cross_ratio": 0.5}
# ... and what the judge accepts (looser, halfway to the wrong answer).
POSITION_JUDGE = {"side": 0.40, "center": 0.14}
RELATION_JUDGE = {"min_offset": 0.08, "max_cross_ratio": 1.0}


def relation_axis(relation: str) -> tuple[int, int]:
    """(axis, sign): `i <relation> j` means sign * (centre_j - centre_i)[axis] > 0, axis 0 = x, 1 = y."""
    return {"left_of": (0, 1), "right_of": (0, -1), "above": (1, 1), "below": (1, -1)}[relation]
