"""The relation warm-up captions say exactly the scene's relation, subject first, and never leave the train split."""
import re
import subprocess
import sys

import pytest

from openimagen.data.shapes.spec import load_prompts
from openimagen.data.shapes.vocab import CATEGORIES
from openimagen.data.shapes.warmup import RELATION_WORDS, plain_group, plain_warmup_specs, relation_warmup_specs
from openimagen.data.shapes.world import load_split, split_of

WORDS = {"to the left of": "left_of", "to the right of": "right_of", "above": "above", "below": "below"}
PLAIN = re.compile(r"a (\w+) (\w+) (to the left of|to the right of|above|below) a (\w+) (\w+)")


@pytest.fixture(scope="module")
def specs():
    return relation_warmup_specs(120, seed=3, frame_seed=4)


def test_each_caption_reads_back_as_its_scene(specs):
    assert len(specs) > 60
    for spec in specs:
        match = PLAIN.search(spec.prompt)
        assert match, spec.prompt
        color, shape, relation, other_color, other_shape = match.groups()
        (i, truth, j), = spec.relations
        assert (spec.objects[i].color, spec.objects[i].shape) == (color, shape), spec.prompt
        assert (spec.objects[j].color, spec.objects[j].shape) == (other_color, other_shape), spec.prompt
        assert WORDS[relation] == truth, spec.prompt


def test_all_relations_and_several_frames_occur(specs):
    assert {spec.relations[0][1] for spec in specs} == set(WORDS.values())
    assert len({spec.prompt.split(" a ")[0] for spec in specs}) >= 3        # the frames vary the subject's position


def test_never_an_evaluation_prompt(specs):
    assert all(split_of(spec) == "train" for spec in specs)
    evaluation = {spec.prompt for name in ("eval", "heldout", "wording") for spec in load_split(name)}
    assert not evaluation & {spec.prompt for spec in specs}


def test_deterministic_given_the_seeds(specs):
    assert [s.prompt for s in relation_warmup_specs(120, seed=3, frame_seed=4)] == [s.prompt for s in specs]
    assert [s.prompt for s in relation_warmup_specs(120, seed=3, frame_seed=9)] != [s.prompt for s in specs]


def test_command_line_writes_a_prompts_file_and_rejects_a_bad_count(tmp_path):
    out = tmp_path / "warmup.jsonl"
    command = [sys.executable, "-m", "openimagen.data.shapes.warmup"]
    done = subprocess.run([*command, "50", str(out)], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [s.prompt for s in load_prompts(out)] == [s.prompt for s in relation_warmup_specs(50, 11, 5)]
    bad = subprocess.run([*command, "0", str(tmp_path / "none.jsonl")], check=False, capture_output=True, text=True)
    assert bad.returncode != 0 and "at least 1" in bad.stderr and not (tmp_path / "none.jsonl").exists()


GROUP = re.compile(r"\b(a|an|two|three|four) (?:(small|large) )?(\w+) (circle|square|triangle)s?"
                   r"(?: (on the left|on the right|at the top|at the bottom|in the center))?")
COUNTS = {"a": 1, "an": 1, "two": 2, "three": 3, "four": 4}
PLACES = {"on the left": "left", "on the right": "right", "at the top": "top", "at the bottom": "bottom",
          "in the center": "center"}


def test_plain_captions_of_every_category_read_back_as_their_scenes():
    specs = plain_warmup_specs(40, seed=6, frame_seed=7)
    assert {spec.category for spec in specs} == set(CATEGORIES)
    for spec in specs:
        said = sorted((COUNTS[n], size, color, shape, PLACES.get(place))
                      for n, size, color, shape, place in GROUP.findall(spec.prompt))
        truth = sorted((g.count, g.size or "", g.color, g.shape, g.position) for g in spec.objects)
        assert said == truth, spec.prompt
        for i, relation, j in spec.relations:
            first, second = (plain_group(spec.objects[k]) for k in (i, j))
            if spec.category == "positional":       # kept as in sessions 6-7: 'a' before every color
                first, second = (f"a {spec.objects[k].color} {spec.objects[k].shape}" for k in (i, j))
            assert f"{first} {RELATION_WORDS[relation]} {second}" in spec.prompt, spec.prompt
        assert split_of(spec) == "train"


def test_command_line_all_writes_every_category_in_the_plain_form(tmp_path):
    out = tmp_path / "plain.jsonl"
    command = [sys.executable, "-m", "openimagen.data.shapes.warmup", "20", str(out), "--all"]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = load_prompts(out)
    assert {spec.category for spec in written} == set(CATEGORIES)
    assert [s.prompt for s in written] == [s.prompt for s in plain_warmup_specs(20, 11, 5)]


def test_command_line_categories_writes_those_categories_only(tmp_path):
    out = tmp_path / "sizes.jsonl"
    command = [sys.executable, "-m", "openimagen.data.shapes.warmup", "30", str(out)]
    done = subprocess.run([*command, "--categories", "positional", "sizes"], check=False, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    written = load_prompts(out)
    assert {spec.category for spec in written} == {"positional", "sizes"}
    assert [s.prompt for s in written] == [s.prompt for s in plain_warmup_specs(30, 11, 5, ("positional", "sizes"))]
    bad = subprocess.run([*command, "--categories", "size"], check=False, capture_output=True, text=True)
    assert bad.returncode != 0 and "invalid choice: 'size'" in bad.stderr


def test_named_sizes_are_said_before_the_colors():
    sized = re.compile(r"a (small |large )?(\w+) (\w+) (to the left of|to the right of|above|below) "
                       r"a (small |large )?(\w+) (\w+)")
    specs = plain_warmup_specs(60, 3, 4, ("positional",), size_words=1.0)
    assert len(specs) > 30 and all(split_of(spec) == "train" for spec in specs)
    for spec in specs:
        size, color, shape, relation, other_size, other_color, other_shape = sized.search(spec.prompt).groups()
        (i, truth, j), = spec.relations
        assert (spec.objects[i].size, spec.objects[i].color, spec.objects[i].shape) == (size.strip(), color, shape)
        assert (spec.objects[j].size, spec.objects[j].color, spec.objects[j].shape) == \
            (other_size.strip(), other_color, other_shape)
        assert WORDS[relation] == truth
