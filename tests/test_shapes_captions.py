import dataclasses
import json
import re

import numpy as np
import pytest

from openimagen.data.shapes import CATEGORIES, Spec, world
from openimagen.data.shapes import captions as grammar
from openimagen.data.shapes import synonyms
from openimagen.data.shapes.synonyms import HELD_OUT_MARKERS, held_out_wording
from openimagen.data.shapes.world import load_split, sample_spec, split_of

TABLES = [synonyms.COLOR_FORMS, synonyms.RELATION_FORMS, synonyms.FRAMES, *synonyms.COLORS.values(),
          *synonyms.SHAPES.values(), *synonyms.SIZES.values(), *synonyms.COUNT_FORMS.values(),
          *synonyms.POSITIONS.values(), *synonyms.RELATIONS.values()]


def _training_captions(count: int, seed: int = 0, pool=world.TRAIN_COMBOS, extra: bool = False) -> list[str]:
    """Captions straight from the training grammar (no split filter, so nothing is rejected)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        objects, _, phrase = world._scene(CATEGORIES[k % len(CATEGORIES)], rng, pool, extra=extra)
        out.append(grammar.frame(phrase, rng, plural=sum(g.count for g in objects) > 1, extra=extra))
    return out


@pytest.fixture(scope="module")
def training_text() -> str:
    return "\n".join(_training_captions(6000))


@pytest.fixture(scope="module")
def extra_text() -> str:
    return "\n".join(_training_captions(8000, seed=2, extra=True))


def _said(option: str, text: str, count_form: bool = False) -> bool:
    said = option.format(n="(two|three|four|[2-4])") if count_form else re.escape(option)
    return re.search(r"\b" + said + r"\b", text) is not None


def test_training_tables_never_hold_a_held_out_marker():
    for words in TABLES:
        for option in words.common + words.rare + words.extra:
            assert not held_out_wording(option), option
    assert not held_out_wording(" ".join(synonyms.PLURALS[n] for w in synonyms.SHAPES.values()
                                         for n in w.common + w.rare + w.extra))


def test_training_grammar_never_says_held_out_wording(training_text, extra_text):
    assert held_out_wording(training_text) == []
    assert held_out_wording(extra_text) == []
    heldout_split_text = "\n".join(_training_captions(1000, seed=1, pool=world.ALL_COMBOS))
    assert held_out_wording(heldout_split_text) == []


@pytest.mark.parametrize("name", ["colors", "shapes", "sizes", "positions", "relations", "count_forms"])
def test_the_extra_grammar_says_every_extra_word(extra_text, name):
    for meaning, words in getattr(synonyms, name.upper()).items():
        for option in words.extra:
            assert _said(option, extra_text, name == "count_forms"), (meaning, option)


@pytest.mark.parametrize("words", ["COLOR_FORMS", "RELATION_FORMS", "FRAMES"])
def test_the_extra_grammar_uses_every_extra_form_and_frame(extra_text, words):
    for form in getattr(synonyms, words).extra:
        pattern = re.sub(r"\\\{\w*\\\}", ".+", re.escape(form))
        assert re.search(f"^{pattern}$", extra_text, re.MULTILINE), form


def test_extra_words_leave_the_v1_grammar_unchanged():
    """Grammar v1 (the shipped model's training data) is the same random stream whether or not extra words exist."""
    plain = [s.prompt for s in world.make_specs("train", 40, seed=3, unique=False)]
    stripped = {name: {k: dataclasses.replace(w, extra=()) for k, w in getattr(synonyms, name).items()}
                for name in ("COLORS", "SHAPES", "SIZES", "COUNT_FORMS", "POSITIONS", "RELATIONS")}
    with pytest.MonkeyPatch.context() as patch:
        for name, table in stripped.items():
            patch.setattr(grammar, name, table)
        for name in ("COLOR_FORMS", "RELATION_FORMS", "FRAMES"):
            patch.setattr(grammar, name, dataclasses.replace(getattr(synonyms, name), extra=()))
        assert [s.prompt for s in world.make_specs("train", 40, seed=3, unique=False)] == plain
        assert [s.prompt for s in world.make_specs("train", 40, seed=3, unique=False, extra=True)] == plain


def test_held_out_wording_matches_whole_words_only():
    assert held_out_wording("two crimson boxes") == ["crimson", "boxes"]
    assert held_out_wording("a red-hued circle, here we see") == ["hued", "here we see"]
    assert held_out_wording("a boxy sandbox, a boxer in plumage") == []
    assert split_of(Spec("a box", "shapes", world._singles(np.random.default_rng(0), world.TRAIN_COMBOS, 1))) \
        == "wording"


@pytest.mark.parametrize("name", ["colors", "shapes", "sizes", "positions", "relations", "count_forms"])
def test_the_training_grammar_says_every_synonym_of_each_class(training_text, name):
    table = getattr(synonyms, name.upper())
    for meaning, words in table.items():
        for option in words.common + words.rare:
            assert _said(option, training_text, name == "count_forms"), (meaning, option)
    if name == "shapes":
        for words in table.values():
            for noun in words.common + words.rare:
                assert re.search(r"\b" + synonyms.PLURALS[noun] + r"\b", training_text), noun


@pytest.mark.parametrize("words", ["COLOR_FORMS", "RELATION_FORMS", "FRAMES"])
def test_the_training_grammar_uses_every_form_and_frame(training_text, words):
    for form in getattr(synonyms, words).common + getattr(synonyms, words).rare:
        pattern = re.sub(r"\\\{\w*\\\}", ".+", re.escape(form))      # each {slot} is some words, on one line
        assert re.search(f"^{pattern}$", training_text, re.MULTILINE), form


def test_common_words_still_dominate(training_text):
    for color, words in synonyms.COLORS.items():
        common = len(re.findall(rf"\b{color}\b", training_text))
        rare = sum(len(re.findall(rf"\b{re.escape(w)}\b", training_text)) for w in words.rare)
        assert common > 1.5 * rare, color


def test_every_shipped_eval_word_is_a_training_grammar_word(training_text):
    vocabulary = set(re.findall(r"[\w-]+", training_text))
    for spec in load_split("eval"):
        assert set(re.findall(r"[\w-]+", spec.prompt)) <= vocabulary, spec.prompt
        assert split_of(spec) == "eval"
    assert all(split_of(spec) == "heldout" for spec in load_split("heldout"))


def test_every_wording_prompt_uses_held_out_wording_on_training_combinations():
    specs = load_split("wording")
    assert len(specs) == 20 * len(CATEGORIES)
    for spec in specs:
        assert held_out_wording(spec.prompt), spec.prompt
        assert all((g.color, g.shape) in world.TRAIN_COMBOS for g in spec.objects)
    used = set(m for spec in specs for m in held_out_wording(spec.prompt))
    assert len(used) >= 0.6 * len(HELD_OUT_MARKERS)      # the split exercises most held-out items


def test_wording_samples_are_valid_scenes_of_their_category():
    rng = np.random.default_rng(5)
    for category in CATEGORIES:
        spec = sample_spec(rng, category, "wording")
        assert spec.category == category and split_of(spec) == "wording"


def test_main_writes_only_missing_splits_unless_named(tmp_path, monkeypatch):
    monkeypatch.setattr(world, "SHIPPED_SPLITS", {"eval": (1, 1), "wording": (1, 3)})
    monkeypatch.setattr(world, "split_path", lambda name: tmp_path / f"{name}.jsonl")
    (tmp_path / "eval.jsonl").write_text("kept\n")
    monkeypatch.setattr("sys.argv", ["world"])
    world.main()
    assert (tmp_path / "eval.jsonl").read_text() == "kept\n"
    assert len((tmp_path / "wording.jsonl").read_text().splitlines()) == len(CATEGORIES)
    monkeypatch.setattr("sys.argv", ["world", "--split", "eval"])
    world.main()
    assert json.loads((tmp_path / "eval.jsonl").read_text().splitlines()[0])["category"] == "colors"


def test_main_writes_training_prompts_with_extra_words_only_when_asked(tmp_path, monkeypatch):
    extra_words = [w for table in (synonyms.COLORS, synonyms.SHAPES) for words in table.values() for w in words.extra
                   if not any(w in v1 for v1 in words.common + words.rare)]     # "cherry" is in "cherry-red"
    said = {}
    for flag in ([], ["--extra-words"]):
        out = tmp_path / f"train{len(flag)}.jsonl"
        monkeypatch.setattr("sys.argv", ["world", "--train", "30", str(out), *flag])
        world.main()
        text = "\n".join(json.loads(line)["prompt"] for line in out.read_text().splitlines())
        said[bool(flag)] = sum(_said(w, text) for w in extra_words)
    assert said == {False: 0, True: said[True]} and said[True] >= 10
