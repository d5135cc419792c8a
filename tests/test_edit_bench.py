"""The cases of benchmarks/edit_bench.py are what the benchmark claims: an edit's input fails the new spec and
passes the old one, its mask covers the changed object; an outpainting input keeps some objects but not all."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openimagen.eval import judge

spec_ = importlib.util.spec_from_file_location("edit_bench", Path(__file__).parent.parent / "benchmarks/edit_bench.py")
edit_bench = sys.modules["edit_bench"] = importlib.util.module_from_spec(spec_)
spec_.loader.exec_module(edit_bench)


@pytest.fixture(scope="module")
def edits():
    return edit_bench.edit_cases(6, margin=0.05, seed=0)


def test_edit_cases_change_one_object_and_the_caption_with_it(edits):
    assert len(edits) == 6
    kinds = set()
    for case in edits:
        old_prompt, new_prompt = case.name.removeprefix("edit: ").split(" -> ")
        assert old_prompt != new_prompt == case.spec.prompt
        assert not judge(case.image, case.spec).passed                       # the edit is needed...
        changed = [w for w in zip(old_prompt.split(), new_prompt.split()) if w[0] != w[1]]
        assert len(changed) == 1                                             # ...one word of the caption
        kinds.add("color" if changed[0][0] in edit_bench.COLORS else "shape")
    assert kinds == {"color", "shape"}


def test_an_edit_mask_covers_the_changed_object_with_a_margin(edits):
    for case in edits:
        mask = np.asarray(case.mask) > 0
        rows, cols = np.nonzero(mask)
        assert mask.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1) < mask.size / 2     # one box
        old = np.asarray(case.image.convert("RGB"), dtype=np.int16)
        drawn = np.abs(old - 255).max(axis=2) > 30
        assert drawn[mask].any()                                             # an object is under it


def test_outpaint_cases_keep_a_half_with_some_objects_and_pad_it_back():
    cases = edit_bench.outpaint_cases(3, seed=0)
    assert len(cases) == 3
    for case in cases:
        assert case.image.size in ((32, 64), (64, 32)) and sorted(case.pad)[:3] == [0, 0, 0]
        assert sum(case.pad) == 32 and (np.asarray(case.mask) == 0).sum() == 32 * 64
        kept_only = Image.fromarray(edit_bench.known_pixels(case).astype(np.uint8))
        assert not judge(kept_only, case.spec).passed                       # the rest must be generated
