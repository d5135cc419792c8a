"""The word tables of the caption grammar: what training captions say, and the held-out wording they never say.

Every choice the grammar makes (a color name, a shape noun, a size word, a number form, a position or relation
phrase, a caption frame, a sentence form) is a `Words` entry with three pools:
- `common`: the words of the first grammar; said most of the time, so that the shipped `eval.jsonl` stays
  in-distribution;
- `rare`: training synonyms and forms, said with probability `p_rare`;
- `extra`: more training synonyms and forms (grammar v2), said like `rare` words when captions are written with
  `extra=True` (`python -m openimagen.data.shapes.world --train N OUT --extra-words`); the grammar-v1 files the
  shipped model was trained on are still written without them;
- `held_out`: the "wording" split's words and forms. Training captions never use them (`world.split_of` sends any
  prompt that does to the "wording" split), so that split measures whether the model reads the frozen text
  encoder's meaning rather than memorizing training words (Imagen Sec. 4.4).
`HELD_OUT_MARKERS` are the whole words/phrases that mark held-out wording in a prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    common: tuple[str, ...]
    rare: tuple[str, ...] = ()
    held_out: tuple[str, ...] = ()
    p_rare: float = 0.3
    extra: tuple[str, ...] = ()


# Color names ("{}" forms below place them). Hyphenated and two-word names are said as they are.
COLORS = {
    "red": Words(("red",), ("scarlet", "cherry-red", "ruby", "bright red"), ("crimson", "vermilion"),
                 extra=("cardinal", "cherry", "blood-red", "brick-red", "tomato-red", "rose-red", "strawberry-red")),
    "green": Words(("green",), ("emerald", "lime", "leaf-green", "grass-green"), ("jade", "forest green"),
                   extra=("olive", "mint", "moss-green", "sea green", "kelly green", "lime-green", "pea-green")),
    "blue": Words(("blue",), ("navy", "azure", "royal blue", "sapphire", "sky-blue"), ("cobalt", "cerulean"),
                  extra=("indigo", "denim", "ocean-blue", "baby blue", "steel blue", "ultramarine", "midnight blue")),
    "yellow": Words(("yellow",), ("golden", "lemon", "canary", "lemon-yellow"), ("mustard", "sunflower"),
                    extra=("gold", "butter-yellow", "banana-yellow", "daffodil", "saffron", "buttercup",
                           "corn-yellow")),
    "purple": Words(("purple",), ("violet", "lavender", "amethyst", "deep purple"), ("plum", "grape"),
                    extra=("magenta", "lilac", "mauve", "orchid", "eggplant", "mulberry", "royal purple")),
    "orange": Words(("orange",), ("tangerine", "amber", "apricot-orange", "bright orange"), ("pumpkin", "carrot"),
                    extra=("peach", "coral", "marigold", "copper", "mango", "persimmon", "burnt orange")),
    "black": Words(("black",), ("jet-black", "dark", "inky", "onyx", "pitch-black"), ("charcoal", "ebony"),
                   extra=("coal-black", "sooty", "raven", "obsidian", "sable", "ink-black", "tar-black")),
}
# How a color attaches to its noun: {color}, {shape} (singular or plural) and {be} (is / are).
COLOR_FORMS = Words(("{color} {shape}",),
                    ("{shape} that {be} {color}", "{color}-colored {shape}", "{color} colored {shape}",
                     "{shape} colored {color}", "{shape} in {color}"),
                    ("{shape} painted {color}", "{color}-hued {shape}"), p_rare=0.25,
                    extra=("{shape} of {color} color", "{color}-tinted {shape}", "{color}-toned {shape}",
                           "{shape} shaded {color}"))

# Shape nouns: a thing a person would draw as that flat shape.
SHAPES = {
    "circle": Words(("circle",), ("disc", "disk", "dot", "round shape", "ball"), ("orb",), p_rare=0.25,
                    extra=("circular shape", "spot", "coin", "bubble")),
    "square": Words(("square",), ("block", "tile", "square shape"), ("box",), p_rare=0.25,
                    extra=("four-sided shape", "square block", "quad", "square patch")),
    "triangle": Words(("triangle",), ("three-sided shape", "wedge", "triangle shape"), ("pyramid",), p_rare=0.25,
                      extra=("triangular shape", "three-cornered shape", "delta", "arrowhead")),
}


def plural(noun: str) -> str:
    """'circle' -> 'circles', 'box' -> 'boxes', 'square patch' -> 'square patches' (every shape noun is regular)."""
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


PLURALS = {noun: plural(noun) for words in SHAPES.values() for noun in words.common + words.rare + words.held_out
           + words.extra}

SIZES = {
    "small": Words(("small", "little"), ("tiny", "mini", "smallish"), ("miniature", "teeny"),
                   extra=("petite", "wee", "undersized", "compact")),
    "large": Words(("large", "big"), ("huge", "giant", "enormous", "oversized"), ("massive", "gigantic"),
                   extra=("jumbo", "hefty", "king-size", "sizable")),
}

# Counts 2-4 ({n}: the number word or digit). "a pair of" only for 2, "a trio of" only for 3.
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
COUNT_FORMS = {
    2: Words(("{n}",), ("a pair of",), ("a group of {n}",), p_rare=0.2, extra=("a couple of", "{n} identical")),
    3: Words(("{n}",), ("a trio of",), ("a group of {n}",), p_rare=0.2, extra=("{n} identical",)),
    4: Words(("{n}",), (), ("a group of {n}",), p_rare=0.2, extra=("a quartet of", "{n} identical")),
}

POSITIONS = {
    "left": Words(("on the left", "at the left", "on the left side"),
                  ("on the left-hand side", "near the left edge", "in the left part of the image"),
                  ("toward the left",), extra=("over on the left", "along the left side", "in the left half")),
    "right": Words(("on the right", "at the right", "on the right side"),
                   ("on the right-hand side", "near the right edge", "in the right part of the image"),
                   ("toward the right",), extra=("over on the right", "along the right side", "in the right half")),
    "top": Words(("at the top", "near the top"),
                 ("in the upper part", "near the top edge", "at the top of the image"), ("toward the top",),
                 extra=("up top", "along the top", "in the top half")),
    "bottom": Words(("at the bottom", "near the bottom"),
                    ("in the lower part", "near the bottom edge", "at the bottom of the image"),
                    ("toward the bottom",), extra=("down at the bottom", "along the bottom", "in the bottom half")),
    "center": Words(("in the center", "in the middle"),
                    ("centered", "in the very middle", "at the center of the image"), ("in the dead center",),
                    extra=("at the center", "in the middle of the picture", "right in the middle")),
}

RELATIONS = {
    "left_of": Words(("to the left of", "left of", "on the left of"), ("to the left side of",),
                     ("further left than",), p_rare=0.2, extra=("just left of", "off to the left of")),
    "right_of": Words(("to the right of", "right of", "on the right of"), ("to the right side of",),
                      ("further right than",), p_rare=0.2, extra=("just right of", "off to the right of")),
    "above": Words(("above", "over"), ("on top of",), ("higher than",), p_rare=0.25,
                   extra=("just above", "directly above", "sitting above")),
    "below": Words(("below", "under", "beneath"), ("underneath",), ("lower than",), p_rare=0.2,
                   extra=("just below", "directly below", "directly under")),
}
# A relation `{s} {rel} {o}` as a phrase: {s} subject, {o} the other object, {rel} the relation words.
RELATION_FORMS = Words(("{s} {rel} {o}", "{s} {rel} {o}", "{s} placed {rel} {o}"),
                       ("{o} with {s} {rel} it", "{o}, and {rel} it {s}"), ("{o} that has {s} {rel} it",),
                       extra=("{s} is {rel} {o}", "{o} and {s} {rel} it"))

# Frames around the whole phrase ({be}: is / are by the number of objects). The `heldout` split's frames are
# `HELDOUT_FRAMES` in captions.py; these held-out frames belong to the "wording" split.
FRAMES = Words(("{}", "{}", "a picture of {}", "an image of {}", "a drawing of {}", "{} on a white background"),
               ("there {be} {}", "draw {}", "show {}", "an illustration of {}", "a simple graphic of {}",
                "a white canvas with {}", "{} {be} shown", "a sketch of {}", "a diagram of {}", "a photo of {}",
                "{} against a white background", "a plain white image with {}", "clip art of {}"),
               ("here we see {}", "{} can be seen", "a minimalist composition with {}"), p_rare=0.4,
               extra=("an icon of {}", "a flat drawing of {}", "this image shows {}", "a doodle of {}",
                      "a vector image of {}", "a cartoon of {}", "the picture contains {}", "{} in a plain picture"))

# Whole words/phrases that mark held-out wording: every held-out word (and its plural) and the words that set
# each held-out form apart.
HELD_OUT_FORM_MARKERS = ("painted", "hued", "a group of", "that has")
HELD_OUT_FRAME_MARKERS = ("here we see", "can be seen", "minimalist composition")


def _held_out_markers() -> tuple[str, ...]:
    names = [w for table in (COLORS, SHAPES, SIZES, POSITIONS, RELATIONS) for entry in table.values()
             for w in entry.held_out]
    names += [PLURALS[s] for entry in SHAPES.values() for s in entry.held_out]
    return tuple(sorted(set(names))) + HELD_OUT_FORM_MARKERS + HELD_OUT_FRAME_MARKERS


HELD_OUT_MARKERS = _held_out_markers()
_HELD_OUT_PATTERN = re.compile(r"\b(" + "|".join(re.escape(m) for m in HELD_OUT_MARKERS) + r")\b", re.IGNORECASE)


def held_out_wording(prompt: str) -> list[str]:
    """The held-out words/phrases a prompt uses (whole words only: 'boxes' counts, 'boxy' does not)."""
    return [m.group(1).lower() for m in _HELD_OUT_PATTERN.finditer(prompt)]
