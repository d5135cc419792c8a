import itertools
import json
import os
import sys

import numpy as np
import pytest

from openimagen.data.shapes import COLORS, SHAPES, Spec, SpecError, load_prompts, render, write_prompts
from openimagen.eval.detect import detect

SCENE = {"prompt": "a red circle left of a yellow square, and three blue triangles", "category": "compound",
         "objects": [{"shape": "circle", "color": "red"}, {"shape": "triangle", "color": "blue", "count": 3},
                     {"shape": "square", "color": "yellow"}],
         "relations": [[0, "left_of", 2]]}


def test_render_is_deterministic_given_seed_and_varies_with_it():
    a, b, c = render(SCENE, 32, seed=5), render(SCENE, 32, seed=5), render(SCENE, 32, seed=6)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    assert render(SCENE, 64, seed=5).size == (64, 64)


def test_relation_and_object_count_hold_in_the_drawn_scene():
    spec = Spec.from_dict(SCENE)
    for seed in range(10):
        found = detect(render(spec, 64, seed=seed))
        assert len(found) == spec.num_objects
        circle = next(d for d in found if d.shape == "circle")
        square = next(d for d in found if d.shape == "square")
        assert square.cx - circle.cx > 0.2


@pytest.mark.parametrize("size_px", [32, 64])
def test_detector_recovers_shape_color_and_size_of_every_single_object(size_px):
    for shape, color, size in itertools.product(SHAPES, COLORS, ("small", "large")):
        spec = {"prompt": "", "category": "shapes", "objects": [{"shape": shape, "color": color, "size": size}]}
        found = detect(render(spec, size_px, seed=1))
        assert [(d.shape, d.color, d.size) for d in found] == [(shape, color, size)]


def test_invalid_spec_names_the_field():
    bad = dict(SCENE, objects=[{"shape": "hexagon", "color": "red"}], relations=[])
    with pytest.raises(SpecError, match=r"objects\[0\]'\.shape"):
        Spec.from_dict(bad)
    with pytest.raises(SpecError, match="count 3"):
        Spec.from_dict(dict(SCENE, relations=[[1, "above", 0]]))


def test_prompts_file_round_trips_and_bad_line_is_named(tmp_path):
    path = tmp_path / "p.jsonl"
    write_prompts(path, [Spec.from_dict(SCENE)])
    assert [s.to_dict() for s in load_prompts(path)] == [Spec.from_dict(SCENE).to_dict()]
    path.write_text(json.dumps(SCENE) + "\n" + json.dumps(dict(SCENE, category="nope")) + "\n")
    with pytest.raises(SpecError, match="line 2: field 'category'"):
        load_prompts(path)


def test_an_object_without_readable_coverage_is_a_blob_at_its_box_not_nan(monkeypatch):
    detect_module = sys.modules[detect.__module__]   # the module (the package re-exports the function's name)
    monkeypatch.setattr(detect_module, "_coverage", lambda rgb, *args: np.zeros(rgb.shape[:2]))
    with np.errstate(all="raise"):   # 0/0 in the moments would raise here instead of giving NaN positions
        found = detect(render(SCENE, 64, seed=0))
    assert len(found) == Spec.from_dict(SCENE).num_objects
    assert {d.shape for d in found} == {"blob"} and all(0 < d.cx < 1 and 0 < d.cy < 1 for d in found)


def test_atomic_writers_give_the_usual_file_mode_not_mkstemps_0600(tmp_path):
    from PIL import Image
    from openimagen.files import save_image_atomic, write_text_atomic
    mask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "prompts.jsonl", "{}\n")
        save_image_atomic(Image.new("RGB", (4, 4)), tmp_path / "grid.png")
    finally:
        os.umask(mask)
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o644"}


def test_layouts_fast_uniform_draws_exactly_what_numpys_uniform_draws():
    """The layout's proposals use `_uniform` for speed; the scenes (and so every training image) must not change."""
    from openimagen.data.shapes.layout import _uniform
    ours, numpys = np.random.default_rng(7), np.random.default_rng(7)
    bounds = np.sort(np.random.default_rng(8).uniform(-2, 2, size=(2000, 2)), axis=1).tolist()
    assert [_uniform(ours, lo, hi) for lo, hi in bounds] == [numpys.uniform(lo, hi) for lo, hi in bounds]
