"""`openimagen sample` end to end on a tiny saved cascade (8 -> 16 px, 2 steps, the real MiniLM encoder)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openimagen.cascade import Cascade
from openimagen.cli import model_folder
from openimagen.cli.pngmeta import read_record, save_png
from cascade_helpers import one_thread, perturb  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli, error_chain, save_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "model")


def pixels(path):
    return np.asarray(Image.open(path), dtype=np.int16)


def sample(model, out, *args):
    result = cli("sample", "--model", model, "-o", out, "--threads", 1, *args)
    assert result.exit_code == 0, result.output
    return result


def test_one_png_per_image_prompt_major_at_the_last_stage_size_with_the_model_defaults(model, tmp_path):
    sample(model, tmp_path / "out.png", "a red circle", "a blue square", "--num-images", 2, "--seed", 1)
    paths = sorted(tmp_path.glob("out-*.png"))
    assert [p.name for p in paths] == ["out-000.png", "out-001.png", "out-002.png", "out-003.png"]
    assert all(Image.open(p).size == (16, 16) for p in paths)
    records = [read_record(p) for p in paths]
    assert [r["prompt"] for r in records] == ["a red circle"] * 2 + ["a blue square"] * 2
    assert [r["image"] for r in records] == [0, 1, 2, 3]
    defaults = json.loads((model / "config.json").read_text())["cascade"]["stages"]
    settings = records[0]["recipe"]["settings"]
    assert settings["2"]["steps"] == defaults[1]["steps"] and settings["1"]["sampler"] == defaults[0]["sampler"]
    assert records[0]["model_fingerprint"] and records[0]["openimagen"] and records[0]["recipe"]["seed"] == 1


def test_cli_images_equal_the_library_call_with_the_same_settings(model, tmp_path):
    sample(model, tmp_path / "a.png", "two green triangles", "--seed", 5, "--steps", 3, "--sampler", "ddim",
           "--guidance", 2.5, "--threshold", "static", "--aug-level", 0.1)
    cascade = Cascade.from_pretrained(model)
    expected = cascade(["two green triangles"], seed=5, steps=3, sampler="ddim", guidance_scale=2.5,
                       threshold="static", aug_level=0.1, progress=False)[0]
    assert np.array_equal(pixels(tmp_path / "a.png"), np.asarray(expected, dtype=np.int16))
    settings = read_record(tmp_path / "a.png")["recipe"]["settings"]
    assert settings["1"] == settings["2"] == {"sampler": "ddim", "steps": 3, "guidance_scale": 2.5,
                                              "guidance_interval": None, "threshold": "static",
                                              "percentile": 0.995, "aug_level": 0.1, "gamma": 0.0, "eta": 0.0}


def test_guidance_interval_reaches_the_sampler_the_recipe_and_a_rerun(tmp_path):
    model = save_tiny_model(tmp_path / "model")
    perturbed = Cascade.from_pretrained(model)
    for number, network in enumerate(perturbed.networks):
        perturb(network, seed=number)           # an untrained network's output is 0: guidance would change nothing
    perturbed.save_pretrained(str(model))
    sample(model, tmp_path / "a.png", "two green triangles", "--seed", 5, "--guidance", 4, "--guidance-interval",
           "-inf", "-1")
    cascade = Cascade.from_pretrained(model)
    expected = cascade(["two green triangles"], seed=5, guidance_scale=4.0, guidance_interval=(None, -1.0),
                       progress=False)[0]
    everywhere = cascade(["two green triangles"], seed=5, guidance_scale=4.0, progress=False)[0]
    assert np.array_equal(pixels(tmp_path / "a.png"), np.asarray(expected, dtype=np.int16))
    assert not np.array_equal(np.asarray(expected), np.asarray(everywhere))
    assert read_record(tmp_path / "a.png")["recipe"]["settings"]["1"]["guidance_interval"] == [None, -1.0]
    result = cli("sample", "--from-png", tmp_path / "a.png", "-o", tmp_path / "again.png")
    assert result.exit_code == 0, result.output
    assert np.array_equal(pixels(tmp_path / "again.png"), pixels(tmp_path / "a.png"))


@pytest.mark.parametrize("values, message", [(("1", "0"), "needs LO < HI, got 1 0"),
                                             (("nan", "1"), "must be two numbers"),
                                             (("inf", "inf"), "needs LO < HI")])
def test_a_bad_guidance_interval_is_one_line(model, tmp_path, values, message):
    result = cli("sample", "--model", model, "-o", tmp_path / "x.png", "red", "--guidance-interval", *values)
    assert_one_line_error(result, message)


@pytest.mark.parametrize("sampler, option, value", [("ddim", "eta", 1.0), ("ancestral", "gamma", 0.5)])
def test_gamma_and_eta_reach_the_sampler_and_the_recipe(model, tmp_path, sampler, option, value):
    sample(model, tmp_path / "a.png", "a red circle", "--seed", 2, "--steps", 3, "--sampler", sampler,
           f"--{option}", value)
    expected = Cascade.from_pretrained(model)(["a red circle"], seed=2, steps=3, sampler=sampler,
                                              progress=False, **{option: value})[0]
    assert np.array_equal(pixels(tmp_path / "a.png"), np.asarray(expected, dtype=np.int16))
    default = Cascade.from_pretrained(model)(["a red circle"], seed=2, steps=3, sampler=sampler, progress=False)[0]
    assert np.abs(pixels(tmp_path / "a.png") - np.asarray(default, dtype=np.int16)).max() > 0   # it changed them
    assert read_record(tmp_path / "a.png")["recipe"]["settings"]["1"][option] == value


def test_eta_with_a_sampler_that_ignores_it_warns(model, tmp_path):
    result = sample(model, tmp_path / "a.png", "a red circle", "--steps", 2, "--sampler", "dpmpp", "--eta", 1)
    assert "--eta 1.0 has no effect" in result.output and "--sampler ddim" in result.output


def test_same_seed_same_image_different_seed_different(model, tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        sample(model, tmp_path / f"{name}.png", "a yellow star", "--seed", seed)
    a, b, c = (pixels(tmp_path / f"{n}.png") for n in "abc")
    assert np.array_equal(a, b) and np.abs(a - c).max() > 0


def test_from_png_reproduces_one_image_of_a_batch_and_a_grid_bit_identically(model, tmp_path):
    sample(model, tmp_path / "x.png", "a red circle", "a blue square", "--num-images", 2, "--seed", 9,
           "--sampler", "dpmpp", "--steps", 3)
    result = cli("sample", "--from-png", tmp_path / "x-002.png", "-o", tmp_path / "again.png")
    assert result.exit_code == 0, result.output
    assert np.array_equal(pixels(tmp_path / "x-002.png"), pixels(tmp_path / "again.png"))
    assert read_record(tmp_path / "again.png")["recipe"] == read_record(tmp_path / "x-002.png")["recipe"]
    sample(model, tmp_path / "grid.png", "a", "b", "--num-images", 2, "--grid", "--seed", 2)
    result = cli("sample", "--from-png", tmp_path / "grid.png", "-o", tmp_path / "grid2.png")
    assert result.exit_code == 0, result.output
    assert np.array_equal(pixels(tmp_path / "grid.png"), pixels(tmp_path / "grid2.png"))


def test_grid_is_a_row_per_prompt_of_the_same_images(model, tmp_path):
    args = ("a red circle", "a blue square", "--num-images", 3, "--seed", 4)
    sample(model, tmp_path / "grid.png", *args, "--grid")
    sample(model, tmp_path / "one.png", *args)
    grid = pixels(tmp_path / "grid.png")
    assert grid.shape == (2 * 16, 3 * 16, 3) and read_record(tmp_path / "grid.png")["image"] == "grid"
    assert np.array_equal(grid[16:, 16:32], pixels(tmp_path / "one-004.png"))    # prompt 2, image 2


def test_stop_at_stage_one_gives_the_base_resolution_and_empty_prompt_is_unconditional(model, tmp_path):
    sample(model, tmp_path / "low.png", "", "--stop-at-stage", 1, "--seed", 0)
    assert Image.open(tmp_path / "low.png").size == (8, 8)
    record = read_record(tmp_path / "low.png")
    assert record["prompt"] == "" and sorted(record["recipe"]["settings"]) == ["1"]


def test_default_model_is_the_shipped_folder_with_a_clear_error_while_it_is_missing(model, tmp_path, monkeypatch):
    monkeypatch.setattr(model_folder, "SHIPPED_MODEL", tmp_path / "shapes-cascade")
    assert_one_line_error(cli("sample", "a red circle", "-o", tmp_path / "a.png"), "shipped model is not installed")
    monkeypatch.setattr(model_folder, "SHIPPED_MODEL", model)
    assert cli("sample", "a red circle", "-o", tmp_path / "a.png", "--threads", 1).exit_code == 0
    assert read_record(tmp_path / "a.png")["shipped_model"] is True


@pytest.mark.parametrize("args, phrase", [
    (["--model", "{tmp}/nowhere", "a"], "--model {tmp}/nowhere: no such folder"),
    (["--model", "{tmp}", "a"], "not a saved cascade (no config.json)"),
    (["--model", "{tmp}/notes.txt", "a"], "--model {tmp}/notes.txt is a file, not a folder"),
    (["--model", "{model}"], "give at least one PROMPT"),
    (["--model", "{model}", "a", "--steps", "0"], "--steps must be a positive integer, got 0"),
    (["--model", "{model}", "a", "--steps", "-3"], "--steps must be a positive integer, got -3"),
    (["--model", "{model}", "a", "--num-images", "0"], "--num-images must be a positive integer"),
    (["--model", "{model}", "a", "--aug-level", "2"], "--aug-level must be in [0, 1]"),
    (["--model", "{model}", "a", "--gamma", "1.5"], "--gamma must be in [0, 1]"),
    (["--model", "{model}", "a", "--eta", "-1"], "--eta must be"),
    (["--model", "{model}", "a", "--eta", "nan"], "--eta must be"),
    (["--model", "{model}", "a", "--stop-at-stage", "3"], "--stop-at-stage 3: the model has stages 1..2"),
    (["--model", "{model}", "a", "-o", "{tmp}/no/dir/x.png"], "does not exist"),
    (["--model", "{model}", "a", "-o", "{tmp}/x.jpg"], "must be a .png file"),
    (["--model", "{model}", "a", "-o", "{tmp}/folder.png"], "is a folder; give a file name"),
    pytest.param(["--model", "{model}", "a", "-o", "/proc/out.png"], "-o /proc/out.png: cannot write to /proc",
                 marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc (unwritable)")),
    (["--model", "{model}", "--from-png", "{tmp}/missing.png"], "--from-png {tmp}/missing.png: no such file"),
    (["--model", "{model}", "--from-png", "{tmp}/folder.png"], "--from-png {tmp}/folder.png is a folder"),
    (["--model", "{model}", "--from-png", "{tmp}/notes.txt"],
     "--from-png {tmp}/notes.txt is not a PNG written by `openimagen sample`"),
    (["--model", "{model}", "a red circle above a blue square"], "is 9 tokens long, but the model's text encoder "
                                                                  "reads at most 8"),
])
def test_user_errors_print_one_line_and_exit_non_zero(model, tmp_path, args, phrase):
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "notes.txt").write_text("not an image")
    args = [a.format(tmp=tmp_path, model=model) for a in args]
    out = [] if "-o" in args else ["-o", tmp_path / "out.png"]
    assert_one_line_error(cli("sample", *args, *out), phrase.format(tmp=tmp_path))
    assert not [p for p in tmp_path.glob("*.png") if p.is_file()]


def test_from_png_errors_name_the_problem(model, tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "plain.png", "-o", tmp_path / "o.png"),
                          "has no openimagen metadata")
    save_png(Image.new("RGB", (4, 4)), tmp_path / "mine.png", {"recipe": {"seed": 1}, "image": 0})
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "mine.png", "-o", tmp_path / "o.png"),
                          "the sampling record lacks")
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "mine.png", "--steps", 4, "-o", tmp_path / "o.png"),
                          "drop --steps")
    Image.new("RGB", (4, 4)).save(tmp_path / "photo.jpg")
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "photo.jpg", "-o", tmp_path / "o.png"),
                          "photo.jpg is not a PNG written by `openimagen sample` (it is JPEG)")
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    save_png(Image.fromarray(noise), tmp_path / "full.png", {"recipe": {"seed": 1}, "image": 0})
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])          # cut inside the image data
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "cut.png", "-o", tmp_path / "o.png"),
                          "cut.png is truncated or damaged")
    assert_one_line_error(cli("sample", "--from-png", tmp_path / "full.png", "-o", tmp_path / "full.png"),
                          "would overwrite --from-png")


def test_from_png_whose_model_folder_is_gone_asks_for_model(model, tmp_path):
    folder = shutil.copytree(model, tmp_path / "model")
    assert cli("sample", "a", "--model", folder, "--threads", 1, "-o", tmp_path / "a.png").exit_code == 0
    shutil.rmtree(folder)
    result = cli("sample", "--from-png", tmp_path / "a.png", "-o", tmp_path / "b.png")
    assert_one_line_error(result, f"the model folder it was made with ({folder.resolve()}) is gone")
    assert "pass --model DIR" in result.stderr
    assert cli("sample", "--from-png", tmp_path / "a.png", "--model", model, "-o", tmp_path / "b.png").exit_code == 0


def test_debug_shows_the_underlying_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    result = cli("sample", "a", "--model", tmp_path, "-o", tmp_path / "a.png")
    assert_one_line_error(result, "config.json is unreadable")
    result = cli("sample", "a", "--model", tmp_path, "-o", tmp_path / "a.png", "--debug")
    assert json.JSONDecodeError in error_chain(result.exception)   # the traceback shows it


def test_help_has_examples():
    result = cli("sample", "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and "--from-png" in result.output


def test_the_shipped_model_loads_and_samples_a_64px_image(tmp_path):
    result = cli("sample", "a red circle above a blue square", "--steps", 2, "--threads", 1, "-o", tmp_path / "s.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "s.png").size == (64, 64) and read_record(tmp_path / "s.png")["shipped_model"]
