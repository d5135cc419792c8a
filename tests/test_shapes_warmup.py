"""The relation warm-up captions say exactly the scene's relation, subject first, and never leave the train split."""
import re
import subprocess
import sys

import pytest

from openimagen.data.shapes.spec import load_prompts
from openimagen.data.shapes.warmup import relation_warmup_specs
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
