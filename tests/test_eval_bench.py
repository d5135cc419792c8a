import json

import numpy as np
import pytest
import torch
from PIL import Image

from cascade_helpers import tiny_cascade_config
from cli_helpers import MINILM_DIM, assert_one_line_error, cli
from openimagen.cascade import Cascade
from openimagen.data.shapes import CATEGORIES
from openimagen.data.shapes.world import load_split
from openimagen.eval.bench import noise_generator, render_generator, run_bench


def two_per_category():
    specs = load_split("eval")
    return [s for c in CATEGORIES for s in [x for x in specs if x.category == c][::15]]


def test_the_renderer_scores_about_everything_and_noise_nothing():
    specs = two_per_category()
    truth = run_bench(specs, render_generator(64), images_per_prompt=2, fd=False, progress=False)
    noise = run_bench(specs, noise_generator(64), images_per_prompt=2, fd=False, progress=False)
    assert truth.metrics["alignment"] >= 0.95 and noise.metrics["alignment"] <= 0.05
    assert set(truth.metrics["categories"]) == set(CATEGORIES)
    assert truth.metrics["images"] == noise.metrics["images"] == 2 * len(specs)
    assert noise.metrics["requirements"]["color"]["accuracy"] < truth.metrics["requirements"]["color"]["accuracy"]


def test_cli_writes_every_output_and_rejudging_its_images_gives_the_same_numbers(tmp_path):
    out = tmp_path / "truth"
    result = cli("bench", "--split", "eval", "--limit", "6", "--images-per-prompt", "2", "--generator", "render",
                 "--size", "32", "--out", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"] == 12 and metrics["resolution"] == 32
    assert metrics["fd_shapes"]["fd"] >= 0 and metrics["fd_shapes"]["floor"] >= 0
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    assert [row["prompt"] for row in rows] == [s.prompt for s in load_split("eval")[:6]]
    assert Image.open(out / "grid.png").size[0] > 2 * 32
    assert "Per category" in (out / "report.html").read_text()
    again = cli("bench", "--split", "eval", "--limit", "6", "--images-per-prompt", "2", "--images", out / "images",
                "--out", tmp_path / "again", "--no-fd")
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "again" / "metrics.json").read_text())["passed"] == metrics["passed"]


def test_cli_benchmarks_a_saved_model_on_two_prompts(tmp_path):
    config = tiny_cascade_config()
    config.max_text_length = 32
    torch.manual_seed(0)
    Cascade.from_config(config, MINILM_DIM).save_pretrained(str(tmp_path / "model"))
    result = cli("bench", "--model", tmp_path / "model", "--split", "heldout", "--limit", "2", "--images-per-prompt",
                 "2", "--no-fd", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    images = sorted((tmp_path / "out" / "images").iterdir())
    assert [p.name for p in images] == ["0000-0.png", "0000-1.png", "0001-0.png", "0001-1.png"]
    assert np.asarray(Image.open(images[0])).shape == (16, 16, 3)


def test_a_bad_prompts_line_is_one_error_naming_the_line_and_field(tmp_path):
    path = tmp_path / "p.jsonl"
    good = {"prompt": "a red circle", "category": "colors", "objects": [{"shape": "circle", "color": "red"}]}
    bad = {"prompt": "a red blob", "category": "colors", "objects": [{"shape": "blob", "color": "red"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    result = cli("bench", "--prompts", path, "--generator", "render", "--out", tmp_path / "out")
    assert_one_line_error(result, "line 2: field 'objects[0]'.shape")
    assert_one_line_error(cli("bench", "--generator", "render"), "exactly one of --prompts")


@pytest.mark.parametrize("make, phrase", [
    (lambda tmp: tmp / "nope.jsonl", "--prompts {path}: no such file"),
    (lambda tmp: tmp, "--prompts {path} is a folder"),
    (lambda tmp: (tmp / "l1.jsonl").write_bytes(b'{"prompt": "caf\xe9"}\n') and tmp / "l1.jsonl",
     "--prompts {path}: not UTF-8 text"),
])
def test_an_unusable_prompts_file_is_one_line_naming_it(tmp_path, make, phrase):
    path = make(tmp_path)
    result = cli("bench", "--prompts", path, "--generator", "render", "--out", tmp_path / "out")
    assert_one_line_error(result, phrase.format(path=path))


@pytest.mark.parametrize("damage, phrase", [
    (lambda folder: (folder / "0001-0.png").unlink(), "0001-0.png: missing image for prompt 1"),
    (lambda folder: (folder / "0001-0.png").write_bytes(b"not a png"), "0001-0.png: not an image Pillow can read"),
])
def test_a_missing_or_unreadable_image_of_images_is_one_line_naming_it(tmp_path, damage, phrase):
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(2):
        Image.new("RGB", (16, 16)).save(folder / f"{index:04d}-0.png")
    damage(folder)
    result = cli("bench", "--split", "eval", "--limit", "2", "--images-per-prompt", "1", "--images", folder,
                 "--no-fd", "--out", tmp_path / "out")
    assert_one_line_error(result, phrase)
    assert "bench:" not in result.stderr                 # refused before the benchmark starts


def test_images_that_is_a_file_is_named_as_one(tmp_path):
    (tmp_path / "0000-0.png").write_bytes(b"x")
    result = cli("bench", "--split", "eval", "--limit", "1", "--images", tmp_path / "0000-0.png", "--no-fd",
                 "--out", tmp_path / "out")
    assert_one_line_error(result, f"--images {tmp_path / '0000-0.png'} is a file, not a folder")


def test_stop_at_stage_beyond_the_model_is_one_line(tmp_path):
    config = tiny_cascade_config()
    config.max_text_length = 32
    Cascade.from_config(config, MINILM_DIM).save_pretrained(str(tmp_path / "model"))
    result = cli("bench", "--model", tmp_path / "model", "--split", "eval", "--limit", "1", "--images-per-prompt",
                 "1", "--no-fd", "--stop-at-stage", "9", "--out", tmp_path / "out")
    assert_one_line_error(result, "--stop-at-stage 9: the model has stages 1..2")


class UpsamplingCascade:
    """A stand-in cascade whose last stage upsamples its input with `resample` (bicubic keeps every scene)."""

    def __init__(self, resample):
        self.config, self.resample, self.calls = tiny_cascade_config(), resample, []

    def __call__(self, prompts, num_images_per_prompt, seed, start_image, start_stage, progress, **settings):
        self.calls.append((len(prompts), num_images_per_prompt, start_stage, start_image[0].size))
        return [image.resize((64, 64), self.resample) for image in start_image]


def test_sr_fidelity_feeds_the_last_stage_true_scenes_at_its_input_size():
    from openimagen.eval.bench import sr_fidelity_generator

    specs = two_per_category()
    faithful = UpsamplingCascade(Image.BICUBIC)
    faithful.config.stages[1].resolution = 64             # 8 px renders are too small to judge: use 32 -> 64
    faithful.config.stages[0].resolution = 32
    kept = run_bench(specs, sr_fidelity_generator(faithful), images_per_prompt=2, fd=False, progress=False)
    assert kept.metrics["alignment"] >= 0.95
    assert faithful.calls[0][1:] == (2, 2, (32, 32))      # 2 images per prompt, from stage 2, 32-px inputs
    lossy = run_bench(specs, sr_fidelity_generator(_Blur(faithful.config)), images_per_prompt=2, fd=False,
                      progress=False)
    assert lossy.metrics["alignment"] < 0.5


class _Blur(UpsamplingCascade):
    """Destroys its input: a 4-px copy blown up to 64 px."""

    def __init__(self, config):
        self.config, self.calls = config, []

    def __call__(self, prompts, num_images_per_prompt, seed, start_image, start_stage, progress, **settings):
        return [image.resize((4, 4), Image.BOX).resize((64, 64), Image.NEAREST) for image in start_image]


def test_cli_sr_only_super_resolves_with_the_last_stage_and_says_so(tmp_path):
    torch.manual_seed(0)
    config = tiny_cascade_config()
    config.max_text_length = 32
    Cascade.from_config(config, MINILM_DIM).save_pretrained(str(tmp_path / "model"))
    too_small = cli("bench", "--model", tmp_path / "model", "--split", "eval", "--sr-only", "--out", tmp_path / "x")
    assert_one_line_error(too_small, "input is 8 px")
    config.stages[0].resolution, config.stages[1].resolution = 16, 32
    Cascade.from_config(config, MINILM_DIM).save_pretrained(str(tmp_path / "model"))
    result = cli("bench", "--model", tmp_path / "model", "--split", "eval", "--limit", "2", "--images-per-prompt",
                 "1", "--no-fd", "--sr-only", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "SR fidelity" in result.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["settings"]["task"] == "sr-fidelity" and metrics["resolution"] == 32
    assert_one_line_error(cli("bench", "--split", "eval", "--sr-only", "--generator", "render"), "--sr-only")
