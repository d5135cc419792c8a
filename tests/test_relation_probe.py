"""scripts/relation_probe.py: true renders give large positive gaps, a text-blind model 0, reversed words < 0."""
import importlib.util
import re
from pathlib import Path

import numpy as np
import torch

from openimagen.data.shapes.render import render
from openimagen.data.shapes.spec import ObjectGroup, Spec

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "relation_probe.py"
spec = importlib.util.spec_from_file_location("relation_probe", SCRIPT)
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)

RELATION = {"above": "above", "below": "below", "to the left of": "left_of"}
PATTERN = re.compile(r"a (\w+) (\w+) (above|below|to the left of) a (\w+) (\w+)")


def scene(prompt: str) -> Spec:
    """The probe's prompt as a spec, read by a regular expression (independent of the caption generator)."""
    color, shape, relation, other_color, other_shape = PATTERN.fullmatch(prompt).groups()
    return Spec(prompt, "positional", (ObjectGroup(shape, color), ObjectGroup(other_shape, other_color)),
                ((0, RELATION[relation], 1),))


def renders(prompts, z, reverse=False):
    """A perfect model: x0 is a true render of the prompt (seeded by the noise), optionally of its reverse."""
    seed = int(z[0, 0, 0, 0].abs().item() * 1e6)
    images = []
    for p in prompts:
        s = scene(p)
        if reverse:
            s = Spec(p, s.category, s.objects[::-1], s.relations)
        pixels = np.asarray(render(s, size=32, seed=seed), dtype=np.float32) / 127.5 - 1
        images.append(torch.from_numpy(pixels).permute(2, 0, 1))
    return torch.stack(images)


def test_true_renders_read_every_relation():
    assert all(gap > 0.3 for gap in probe.relation_gaps(renders, 32, seeds=8))


def test_a_model_that_reads_the_words_backwards_gets_negative_gaps():
    assert all(gap < -0.3 for gap in probe.relation_gaps(lambda p, z: renders(p, z, reverse=True), 32, seeds=8))


def test_a_text_blind_model_gets_zero_gaps():
    blind = lambda prompts, z: renders([PATTERN.sub("a red circle above a blue square", p) for p in prompts], z)  # noqa: E731
    assert probe.relation_gaps(blind, 32, seeds=4) == [0.0, 0.0, 0.0]
