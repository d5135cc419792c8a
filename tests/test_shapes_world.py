import itertools
import re

import numpy as np
import pytest

from openimagen.data.shapes import CATEGORIES
from openimagen.data.shapes.captions import HELDOUT_FRAMES
from openimagen.data.shapes.synonyms import COLORS, COUNT_FORMS, NUMBER_WORDS, PLURALS, POSITIONS, SHAPES, SIZES, \
    held_out_wording
from openimagen.data.shapes.world import (HELDOUT_COMBOS, SHIPPED_SPLITS, ShapesWorld, load_split, sample_spec,
                                          split_of)
from openimagen.eval.detect import detect

VERTICAL = ("above", "over", "top", "below", "under", "beneath", "underneath")
RELATION_WORDS = {"left_of": ("left", "right"), "right_of": ("left", "right"), "above": VERTICAL, "below": VERTICAL}


def _says(prompt: str, options) -> bool:
    return any(re.search(rf"\b{re.escape(option)}\b", prompt) for option in options)


def _all(words):
    return words.common + words.rare


def _mentions(prompt: str, spec) -> None:
    """Every requirement of the spec is said in its (training) caption, in one of its training words."""
    for group in spec.objects:
        assert _says(prompt, _all(COLORS[group.color])), (prompt, group.color)
        nouns = _all(SHAPES[group.shape])
        assert _says(prompt, nouns if group.count == 1 else [PLURALS[n] for n in nouns]), (prompt, group.shape)
        if group.count > 1:
            forms = _all(COUNT_FORMS[group.count])
            assert _says(prompt, [NUMBER_WORDS[group.count], str(group.count)] + [f for f in forms if "{" not in f])
        if group.size is not None:
            assert _says(prompt, _all(SIZES[group.size])), (prompt, group.size)
        if group.position is not None:
            assert _says(prompt, _all(POSITIONS[group.position])), (prompt, group.position)
    for _, relation, _ in spec.relations:
        assert _says(prompt, RELATION_WORDS[relation]), (prompt, relation)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_samples_valid_scenes_its_caption_describes(category):
    rng = np.random.default_rng(0)
    for _ in range(15):
        spec = sample_spec(rng, category)
        assert spec.category == category
        _mentions(spec.prompt, spec)


def test_sampling_is_deterministic_given_the_seed():
    a = [sample_spec(np.random.default_rng(3)).to_dict() for _ in range(3)]
    assert a == [sample_spec(np.random.default_rng(3)).to_dict() for _ in range(3)]
    assert sample_spec(np.random.default_rng(4)).to_dict() != a[0]


@pytest.mark.parametrize("split", ["train", "eval", "heldout", "wording"])
def test_samples_belong_to_their_split(split):
    rng = np.random.default_rng(1)
    for _ in range(40):
        spec = sample_spec(rng, split=split)
        assert split_of(spec) == split
        heldout = any((g.color, g.shape) in HELDOUT_COMBOS for g in spec.objects) or \
            any(spec.prompt.startswith(f.split("{}")[0]) and spec.prompt.endswith(f.split("{}")[1])
                for f in HELDOUT_FRAMES)
        assert heldout == (split == "heldout")
        assert bool(held_out_wording(spec.prompt)) == (split == "wording")


def test_shipped_evaluation_splits_are_balanced_and_disjoint_from_training():
    for name, (per_category, _) in SHIPPED_SPLITS.items():
        specs = load_split(name)
        assert len({s.prompt for s in specs}) == len(specs) == per_category * len(CATEGORIES)
        assert all(split_of(s) == name for s in specs)
        assert sorted({s.category for s in specs}) == sorted(CATEGORIES)
    rng = np.random.default_rng(7)
    train_prompts = {sample_spec(rng).prompt for _ in range(300)}
    assert not train_prompts & {s.prompt for s in load_split("eval")}


def test_stream_renders_the_scene_its_spec_describes():
    for image, caption, spec in itertools.islice(ShapesWorld("train", size=64, seed=2), 12):
        assert image.size == (64, 64) and caption == spec.prompt
        found = detect(image)
        assert len(found) == spec.num_objects
        wanted = sorted((g.color, g.shape) for g in spec.objects for _ in range(g.count))
        assert sorted((d.color, d.shape) for d in found) == wanted


def test_unknown_split_and_category_are_named():
    with pytest.raises(ValueError, match="split 'test'"):
        sample_spec(np.random.default_rng(0), split="test")
    with pytest.raises(ValueError, match="category 'animals'"):
        sample_spec(np.random.default_rng(0), "animals")
    with pytest.raises(ValueError, match="evaluation split 'train'"):
        load_split("train")


def test_size_words_name_free_sizes_in_the_caption_and_the_picture():
    from openimagen.data.shapes.render import render
    from openimagen.eval.judge import judge
    rng = np.random.default_rng(5)
    for category in CATEGORIES:
        for _ in range(6):
            spec = sample_spec(rng, category, size_words=1.0)
            assert all(g.size is not None for g in spec.objects), spec.prompt
            _mentions(spec.prompt, spec)
            assert judge(render(spec, 64, seed=1), spec).passed, spec.prompt   # the renderer draws the named sizes
    free = [g.size is not None for _ in range(300) for g in sample_spec(rng, "colors", size_words=0.5).objects]
    assert 0.4 < np.mean(free) < 0.6
    assert all(g.size is None for _ in range(50) for g in sample_spec(rng, "positional").objects)
    with pytest.raises(ValueError, match="size_words=1.5"):
        sample_spec(rng, size_words=1.5)
