import itertools

import numpy as np
import pytest

from openimagen.data.shapes import CATEGORIES
from openimagen.data.shapes.captions import HELDOUT_FRAMES, NUMBER_WORDS, PLURALS, POSITION_PHRASES, SIZE_WORDS
from openimagen.data.shapes.world import (HELDOUT_COMBOS, SHIPPED_SPLITS, ShapesWorld, load_split, sample_spec,
                                          split_of)
from openimagen.eval.detect import detect

RELATION_WORDS = {"left_of": ("left",), "right_of": ("right",), "above": ("above", "over", "below", "under",
                  "beneath"), "below": ("above", "over", "below", "under", "beneath")}


def _mentions(prompt: str, spec) -> None:
    """Every requirement of the spec is said in its caption."""
    for group in spec.objects:
        assert group.color in prompt
        assert (group.shape if group.count == 1 else PLURALS[group.shape]) in prompt
        if group.count > 1:
            assert NUMBER_WORDS[group.count] in prompt or str(group.count) in prompt
        if group.size is not None:
            assert any(word in prompt for word in SIZE_WORDS[group.size])
        if group.position is not None:
            assert any(phrase in prompt for phrase in POSITION_PHRASES[group.position])
    for _, relation, _ in spec.relations:
        assert any(word in prompt for word in RELATION_WORDS[relation]) or "left" in prompt or "right" in prompt


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


@pytest.mark.parametrize("split", ["train", "eval", "heldout"])
def test_samples_belong_to_their_split(split):
    rng = np.random.default_rng(1)
    for _ in range(40):
        spec = sample_spec(rng, split=split)
        assert split_of(spec) == split
        heldout = any((g.color, g.shape) in HELDOUT_COMBOS for g in spec.objects) or \
            any(spec.prompt.startswith(f.split("{}")[0]) and spec.prompt.endswith(f.split("{}")[1])
                for f in HELDOUT_FRAMES)
        assert heldout == (split == "heldout")


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
