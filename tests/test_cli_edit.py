"""`openimagen edit` end to end on a tiny saved cascade (8 -> 16 px, 2 steps, the real MiniLM encoder)."""

import shutil

import numpy as np
import pytest
from PIL import Image

from openimagen.cascade import Cascade
from openimagen.cli.pngmeta import read_record
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli, save_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli-edit") / "model")


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "scene.png")
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (4, 4, 12, 10))
    mask.save(tmp_path / "mask.png")
    return tmp_path / "scene.png", tmp_path / "mask.png"


def pixels(path_or_image):
    image = Image.open(path_or_image) if not isinstance(path_or_image, Image.Image) else path_or_image
    return np.asarray(image, dtype=np.int16)


def test_edit_with_a_mask_equals_the_library_call_and_stores_its_recipe(model, inputs, tmp_path):
    scene, mask = inputs
    result = cli("edit", scene, "--mask", mask, "a red circle", "--model", model, "--seed", 4, "--steps", 3,
                 "--jump-n-sample", 2, "--threads", 1, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    expected = Cascade.from_pretrained(model).inpaint("a red circle", Image.open(scene), Image.open(mask), seed=4,
                                                      steps=3, jump_n_sample=2, progress=False)[0]
    assert np.array_equal(pixels(tmp_path / "out.png"), pixels(expected))
    keep = np.asarray(Image.open(mask)) == 0
    assert np.array_equal(pixels(tmp_path / "out.png")[keep], pixels(scene)[keep])
    record = read_record(tmp_path / "out.png")
    assert record["format"] == "openimagen-edit" and record["recipe"]["seed"] == 4
    assert record["edit"]["method"] == "repaint" and record["edit"]["jump_n_sample"] == 2
    assert record["edit"]["mask"] == str(mask.resolve()) and len(record["edit"]["image_sha256"]) == 12
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "out.png", "-o", tmp_path / "again.png"),
                          "was written by `openimagen edit`")


def test_edit_with_a_pad_outpaints_the_border(model, tmp_path):
    Image.new("RGB", (8, 16), (200, 10, 10)).save(tmp_path / "half.png")
    result = cli("edit", tmp_path / "half.png", "--pad", "8,0,0,0", "a red circle", "--model", model,
                 "--threads", 1, "-o", tmp_path / "wide.png")
    assert result.exit_code == 0, result.output
    out = pixels(tmp_path / "wide.png")
    assert out.shape == (16, 16, 3) and (out[:, 8:] == [200, 10, 10]).all()
    assert read_record(tmp_path / "wide.png")["edit"]["pad"] == [8, 0, 0, 0]


@pytest.mark.parametrize("args, phrase", [
    (["{scene}", "--mask", "{tmp}/tall.png", "a"], "--mask {tmp}/tall.png: the mask is 16x8 but the image is 16x16"),
    (["{scene}", "--mask", "{tmp}/black.png", "a"], "--mask {tmp}/black.png: mask 1 has no white pixel"),
    (["{tmp}/notes.txt", "--mask", "{mask}", "a"], "IMAGE {tmp}/notes.txt: not an image"),
    (["{scene}", "--mask", "{tmp}/notes.txt", "a"], "--mask {tmp}/notes.txt: not an image"),
    (["{tmp}/missing.png", "--mask", "{mask}", "a"], "IMAGE {tmp}/missing.png: no such file"),
    (["{scene}", "--mask", "{tmp}/clear.png", "a"], "--mask {tmp}/clear.png is fully transparent"),
    (["{tmp}/dir.png", "--mask", "{mask}", "a"], "IMAGE {tmp}/dir.png is a folder, not an image file"),
    (["{scene}", "--mask", "{tmp}/dir.png", "a"], "--mask {tmp}/dir.png is a folder, not an image file"),
    (["{scene}", "--pad", "1000,0,0,0", "a"], "--pad 1000,0,0,0: pad [1000, 0, 0, 0] leaves no pixel"),
    (["{scene}", "--pad", "0,0,0,0", "a"], "leaves nothing to generate"),
    (["{scene}", "--pad", "1,2,x,4", "a"], "expected LEFT,TOP,RIGHT,BOTTOM"),
    (["{scene}", "a"], "give either --mask MASK"),
    (["{scene}", "--mask", "{mask}", "--pad", "1,1,1,1", "a"], "give either --mask MASK"),
    (["{scene}", "--mask", "{mask}"], "give a PROMPT after IMAGE"),
    (["{scene}", "--mask", "{mask}", "--method", "trained", "a"], "has no stage trained with task = 'inpaint'"),
    (["{scene}", "--mask", "{mask}", "a red circle above a blue square"], "is 9 tokens long"),
    (["{scene}", "--mask", "{mask}", "--jump-n-sample", "0", "a"], "--jump-n-sample must be a positive integer"),
    (["{scene}", "--mask", "{mask}", "a", "-o", "{scene}"], "-o {scene} would overwrite IMAGE {scene}"),
    (["{scene}", "--mask", "{mask}", "a", "-o", "{mask}"], "-o {mask} would overwrite --mask {mask}"),
    (["{tmp}/s-001.png", "--mask", "{mask}", "a", "b", "-o", "{tmp}/s.png"], "would overwrite IMAGE {tmp}/s-001.png"),
])
def test_bad_input_is_one_line_naming_it_and_nothing_is_written(model, inputs, tmp_path, args, phrase):
    scene, mask = inputs
    Image.new("L", (16, 8), 255).save(tmp_path / "tall.png")
    Image.new("L", (16, 16), 0).save(tmp_path / "black.png")
    (tmp_path / "notes.txt").write_text("not an image")
    names = dict(scene=scene, mask=mask, tmp=tmp_path)
    shutil.copy(scene, tmp_path / "s-001.png")
    (tmp_path / "dir.png").mkdir()
    Image.new("RGBA", (16, 16), (255, 255, 255, 0)).save(tmp_path / "clear.png")
    before = {path: path.is_file() and path.read_bytes() for path in tmp_path.iterdir()}
    result = cli("edit", "-o", tmp_path / "out.png", *[a.format(**names) for a in args], "--model", model,
                 "--threads", 1)
    assert_one_line_error(result, phrase.format(**names))
    assert {path: path.is_file() and path.read_bytes() for path in tmp_path.iterdir()} == before
