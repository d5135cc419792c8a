"""The caption grammar: a spec's objects, sizes, positions and relations in words, with variety.

Variety comes from articles, digits vs number words, synonyms of colors, shapes and sizes, color forms ("a circle
that is red"), count forms ("a pair of"), word order (a relation may be said from either side, or as "B with A
above it"), and a *frame* around the whole phrase ("there is ...", "a sketch of ..."). The words live in
`synonyms.py`: common words most of the time, training synonyms sometimes, and held-out words only when
`wording=True` (the "wording" split). The frames in `HELDOUT_FRAMES` belong to the "heldout" split (see `world.py`).
"""

from __future__ import annotations

import numpy as np

from openimagen.data.shapes.spec import ObjectGroup
from openimagen.data.shapes.synonyms import (COLOR_FORMS, COLORS, COUNT_FORMS, FRAMES, NUMBER_WORDS, PLURALS,
                                             POSITIONS, RELATION_FORMS, RELATIONS, SHAPES, SIZES, Words)

HELDOUT_FRAMES = ("a scene showing {}", "a rendering of {}", "{}, drawn on white")
INVERSE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}
P_HELD_OUT = 0.15     # with wording=True: how often a choice that has held-out words takes one


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def say(words: Words, rng: np.random.Generator, wording: bool = False, extra: bool = False) -> str:
    """One of `words`: held out (only if `wording`) with probability P_HELD_OUT, else rare with `p_rare` (from the
    rare and, if `extra`, the extra words), else common."""
    if wording and words.held_out and rng.random() < P_HELD_OUT:
        return _pick(rng, words.held_out)
    rare = words.rare + words.extra if extra else words.rare
    if rare and rng.random() < words.p_rare:
        return _pick(rng, rare)
    return _pick(rng, words.common)


def indefinite_article(noun: str) -> str:
    """'an' before a vowel ('an orange circle'), else 'a'."""
    return "an" if noun[0] in "aeiou" else "a"


def noun_phrase(group: ObjectGroup, rng: np.random.Generator, with_color: bool = True,
                wording: bool = False, extra: bool = False) -> str:
    """'a small red circle', 'three blue squares', 'a pair of tiny discs colored scarlet', 'a box in navy'."""
    shape = say(SHAPES[group.shape], rng, wording, extra)
    noun = shape if group.count == 1 else PLURALS[shape]
    if with_color:
        color = say(COLORS[group.color], rng, wording, extra)
        form = say(COLOR_FORMS, rng, wording, extra)
        noun = form.format(color=color, shape=noun, be="is" if group.count == 1 else "are")
    if group.size is not None:
        noun = f"{say(SIZES[group.size], rng, wording, extra)} {noun}"
    if group.count == 1:
        article = indefinite_article(noun)
        determiner = _pick(rng, (article, article, article, "one"))
    else:
        number = NUMBER_WORDS[group.count] if rng.random() < 0.7 else str(group.count)
        determiner = say(COUNT_FORMS[group.count], rng, wording, extra).format(n=number)
    phrase = f"{determiner} {noun}"
    if group.position is not None:
        phrase += " " + say(POSITIONS[group.position], rng, wording, extra)
    return phrase


def join(phrases: list[str], rng: np.random.Generator) -> str:
    """'A', 'A and B', 'A, B and C' (or with an Oxford comma)."""
    if len(phrases) <= 2:
        return " and ".join(phrases)
    comma = _pick(rng, (",", ""))
    return ", ".join(phrases[:-1]) + f"{comma} and " + phrases[-1]


def relation_phrase(subject: str, relation: str, other: str, rng: np.random.Generator,
                    wording: bool = False, extra: bool = False) -> str:
    """`subject <relation> other` in words, said from either side and in several forms: 'a red circle above a blue
    square', 'a blue square below a red circle', 'a blue square with a red circle above it'."""
    if rng.random() < 0.5:
        subject, relation, other = other, INVERSE[relation], subject
    form = say(RELATION_FORMS, rng, wording, extra)
    return form.format(s=subject, rel=say(RELATIONS[relation], rng, wording, extra), o=other)


def same_color_phrase(groups: list[ObjectGroup], rng: np.random.Generator, wording: bool = False,
                      extra: bool = False) -> str:
    """'a circle and a triangle, both red' / 'a red circle and a red triangle' (all groups share one color)."""
    if rng.random() < 0.5:
        return join([noun_phrase(g, rng, wording=wording, extra=extra) for g in groups], rng)
    everything = "both" if len(groups) == 2 else "all"
    color = say(COLORS[groups[0].color], rng, wording, extra)
    return join([noun_phrase(g, rng, with_color=False, wording=wording, extra=extra) for g in groups], rng) + \
        f", {everything} {color}"


def frame(phrase: str, rng: np.random.Generator, plural: bool = False, wording: bool = False,
          heldout: bool = False, extra: bool = False) -> str:
    """The caption: `phrase` in a frame ('there are {}' when `plural`); with `heldout`, a third of the frames come
    from HELDOUT_FRAMES."""
    if heldout and rng.random() < len(HELDOUT_FRAMES) / (len(HELDOUT_FRAMES) + len(FRAMES.common)):
        template = _pick(rng, HELDOUT_FRAMES)
    else:
        template = say(FRAMES, rng, wording, extra)
    return template.replace("{be}", "are" if plural else "is").replace("{}", phrase)
