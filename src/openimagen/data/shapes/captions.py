"""The caption grammar: a spec's objects, sizes, positions and relations in words, with variety.

Variety comes from articles, digits vs number words, synonyms, word order (a relation may be said from either
side) and a *frame* around the whole phrase. Frames are the caption templates of the held-out split: the frames in
`HELDOUT_FRAMES` never occur in training captions (see `world.py`).
"""

from __future__ import annotations

import numpy as np

from openimagen.data.shapes.spec import ObjectGroup

TRAIN_FRAMES = ("{}", "{}", "a picture of {}", "an image of {}", "a drawing of {}", "{} on a white background")
HELDOUT_FRAMES = ("a scene showing {}", "a rendering of {}", "{}, drawn on white")

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles"}
SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
POSITION_PHRASES = {
    "left": ("on the left", "at the left", "on the left side"),
    "right": ("on the right", "at the right", "on the right side"),
    "top": ("at the top", "near the top"),
    "bottom": ("at the bottom", "near the bottom"),
    "center": ("in the center", "in the middle"),
}
RELATION_PHRASES = {
    "left_of": ("to the left of", "left of", "on the left of"),
    "right_of": ("to the right of", "right of", "on the right of"),
    "above": ("above", "over"),
    "below": ("below", "under", "beneath"),
}
INVERSE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def noun_phrase(group: ObjectGroup, rng: np.random.Generator, with_color: bool = True) -> str:
    """'a small red circle', 'three blue squares', '2 large yellow triangles'."""
    words = []
    if group.size is not None:
        words.append(_pick(rng, SIZE_WORDS[group.size]))
    if with_color:
        words.append(group.color)
    if group.count == 1:
        words.append(group.shape)
        article = "an" if words[0][0] in "aeiou" else "a"
        determiner = _pick(rng, (article, article, article, "one"))
    else:
        words.append(PLURALS[group.shape])
        determiner = NUMBER_WORDS[group.count] if rng.random() < 0.7 else str(group.count)
    phrase = " ".join([determiner, *words])
    if group.position is not None:
        phrase += " " + _pick(rng, POSITION_PHRASES[group.position])
    return phrase


def join(phrases: list[str], rng: np.random.Generator) -> str:
    """'A', 'A and B', 'A, B and C' (or with an Oxford comma)."""
    if len(phrases) <= 2:
        return " and ".join(phrases)
    comma = _pick(rng, (",", ""))
    return ", ".join(phrases[:-1]) + f"{comma} and " + phrases[-1]


def relation_phrase(subject: str, relation: str, other: str, rng: np.random.Generator) -> str:
    """`subject <relation> other` in words, said from either side: 'a red circle above a blue square' or
    'a blue square below a red circle'."""
    if rng.random() < 0.5:
        subject, relation, other = other, INVERSE[relation], subject
    verb = _pick(rng, ("", "", " placed"))
    return f"{subject}{verb} {_pick(rng, RELATION_PHRASES[relation])} {other}"


def same_color_phrase(groups: list[ObjectGroup], rng: np.random.Generator) -> str:
    """'a circle and a triangle, both red' / 'a red circle and a red triangle' (all groups share one color)."""
    color = groups[0].color
    if rng.random() < 0.5:
        return join([noun_phrase(g, rng) for g in groups], rng)
    everything = "both" if len(groups) == 2 else "all"
    return join([noun_phrase(g, rng, with_color=False) for g in groups], rng) + f", {everything} {color}"


def frame(phrase: str, frames: tuple[str, ...], rng: np.random.Generator) -> str:
    return _pick(rng, frames).format(phrase)
