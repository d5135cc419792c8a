"""`openimagen drawbench generate` on a tiny saved cascade: the run folder's layout, resume (only missing images are
written, bit-identical to an uninterrupted run), prompts files, and the processes' split of the prompts."""

import importlib
import json
import warnings

import pytest
from PIL import Image

from openimagen.eval.drawbench import PromptsError, prompt_seed, read_prompts
from openimagen.text import TruncationWarning
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli, save_tiny_model

SHEET = 'Prompts,Category\nA red colored car.,Colors\n"A cat, then a dog.",Counting\nOne blue cube.,Counting\n'


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("drawbench") / "model")


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET)
    return path


def generate(model, prompts, out, *extra):
    result = cli("drawbench", "generate", "--model", model, "--prompts", prompts, "--out", out,
                 "--images-per-prompt", 2, *extra)
    assert result.exit_code == 0, result.output
    return result


def test_a_run_folder_holds_every_image_the_prompts_with_categories_and_the_recipe(tmp_path, model, sheet):
    generate(model, sheet, tmp_path / "run", "--seed", 3)
    names = sorted(p.name for p in (tmp_path / "run" / "images").iterdir())
    assert names == ["0000-0.png", "0000-1.png", "0001-0.png", "0001-1.png", "0002-0.png", "0002-1.png"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "prompts.jsonl").read_text().splitlines()]
    assert [(r["index"], r["prompt"], r["category"]) for r in rows] == [
        (0, "A red colored car.", "Colors"), (1, "A cat, then a dog.", "Counting"), (2, "One blue cube.", "Counting")]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["seed"] == 3 and run["images_per_prompt"] == 2
    record = json.loads(Image.open(tmp_path / "run" / "images" / "0001-1.png").text["openimagen"])
    assert record["prompt"] == "A cat, then a dog." and record["recipe"]["seed"] == prompt_seed(3, 1)


def test_resume_writes_only_the_missing_images_and_they_equal_an_uninterrupted_run(tmp_path, model, sheet):
    run = tmp_path / "run"
    generate(model, sheet, run)
    images = run / "images"
    first = {p.name: p.read_bytes() for p in images.iterdir()}
    kept = images / "0000-0.png"
    kept_mtime = kept.stat().st_mtime_ns
    (images / "0002-1.png").unlink()
    result = generate(model, sheet, run)
    assert "wrote 1 image(s) for 1 prompt(s)" in result.output and "2 prompt(s) were already complete" in result.output
    assert (images / "0002-1.png").read_bytes() == first["0002-1.png"] and kept.stat().st_mtime_ns == kept_mtime


def test_a_run_folder_refuses_another_seed_naming_it(tmp_path, model, sheet):
    generate(model, sheet, tmp_path / "run", "--seed", 1)
    result = cli("drawbench", "generate", "--model", model, "--prompts", sheet, "--out", tmp_path / "run",
                 "--images-per-prompt", 2, "--seed", 2)
    assert_one_line_error(result, "other settings: seed: 1 there, 2 now;")
    assert "guidance" not in result.stderr                # only the setting that differs


def test_the_same_command_with_a_guidance_interval_resumes(tmp_path, model, sheet):
    """run.json stores the interval as a JSON list; the rerun's tuple is the same setting."""
    interval = ("--guidance-interval", "-4", "inf", "--limit", 1)
    generate(model, sheet, tmp_path / "run", *interval)
    result = generate(model, sheet, tmp_path / "run", *interval)
    assert "wrote 0 image(s) for 0 prompt(s)" in result.output and "1 prompt(s) were already complete" in result.output
    result = cli("drawbench", "generate", "--model", model, "--prompts", sheet, "--out", tmp_path / "run",
                 "--images-per-prompt", 2, "--limit", 1, "--guidance-interval", "-3", "inf")
    assert_one_line_error(result, "settings.1.guidance_interval: [-4.0, null] there, [-3.0, null] now;")


def test_ctrl_c_says_what_was_written_and_the_same_command_resumes(tmp_path, model, sheet, monkeypatch):
    from openimagen.cascade import pipeline

    calls, real = [], pipeline.sample_stage

    def sample_stage(*args, **kwargs):                # Ctrl-C in prompt 1's first stage (2 stages per prompt)
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "sample_stage", sample_stage)
    result = cli("drawbench", "generate", "--model", model, "--prompts", sheet, "--out", tmp_path / "run",
                 "--images-per-prompt", 2)
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == (f"interrupted: wrote 2 image(s) for 1 of 3 prompt(s) to "
                                                      f"{tmp_path / 'run'}; rerun the same command to resume")
    monkeypatch.undo()
    result = generate(model, sheet, tmp_path / "run")
    assert "wrote 4 image(s) for 2 prompt(s)" in result.output and "1 prompt(s) were already complete" in result.output


def test_long_prompts_are_said_once_in_a_plain_line_not_as_python_warnings(tmp_path, model, sheet):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = generate(model, sheet, tmp_path / "run")
    assert [line for line in result.stderr.splitlines() if "longer than" in line] == [
        "warning: 1 prompt(s) are longer than the 8 tokens the model's text encoder reads and are cut (the first: "
        "prompt 1, 'A cat, then a dog.')"]
    assert not [w for w in caught if issubclass(w.category, TruncationWarning)]


def test_jsonl_prompts_keep_shapes_world_specs_and_default_the_category(tmp_path):
    path = tmp_path / "p.jsonl"
    spec = {"prompt": "a red circle", "category": "color", "objects": [{"shape": "circle", "color": "red"}]}
    path.write_text(json.dumps(spec) + "\n" + json.dumps({"prompt": "anything"}) + "\n")
    first, second = read_prompts(path)
    assert first.spec == spec and first.category == "color"
    assert second.spec is None and second.category == "uncategorized" and second.index == 1


@pytest.mark.parametrize("header", ["text,kind", "Prompt,Cat", "Prompts"])
def test_a_csv_without_the_expected_header_is_refused_naming_it(tmp_path, header):
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\nhello,x\n")
    with pytest.raises(PromptsError, match=f"{path}:1: the CSV header must be Prompts,Category"):
        read_prompts(path)


@pytest.mark.parametrize("rows, where", [('A car.,Colors\n"unterminated,x\n', ":4: malformed CSV row"),
                                         ("A car.,Colors\na, b,Counting\n", ":4: expected 2 fields")])
def test_a_malformed_csv_row_is_refused_naming_its_line(tmp_path, rows, where):
    path = tmp_path / "bad.csv"
    path.write_text("Prompts,Category\n\n" + rows)           # a blank line is skipped (but counted)
    with pytest.raises(PromptsError, match=f"{path}{where}"):
        read_prompts(path)


def test_a_csv_that_is_not_utf8_is_one_line_naming_the_file(tmp_path, model):
    path = tmp_path / "latin1.csv"
    path.write_bytes("Prompts,Category\nA caf\u00e9.,Text\n".encode("latin-1"))
    result = cli("drawbench", "generate", "--model", model, "--prompts", path, "--out", tmp_path / "run")
    assert_one_line_error(result, f"{path} line 2: not UTF-8 text (byte 0xe9); save it as UTF-8")
    assert not (tmp_path / "run").exists()


def test_processes_split_the_prompts_and_together_write_what_one_process_writes(tmp_path, model, sheet, monkeypatch):
    generate(model, sheet, tmp_path / "one")

    class FakeState:                                  # what Accelerate reports to process `rank` of 2
        num_processes, device = 2, "cpu"

        def __init__(self, rank):
            self.process_index, self.is_main_process = rank, rank == 0

        def wait_for_everyone(self):
            pass

    command = importlib.import_module("openimagen.cli.drawbench")     # the module, not the click group
    for rank in (1, 0):                               # rank 1 first: it must not need rank 0's files
        monkeypatch.setattr(command, "process_state", lambda rank=rank: FakeState(rank))
        if rank == 1:                                 # the main process has created the folder before
            from openimagen.eval.drawbench import read_prompts as read, start_run
            run = json.loads((tmp_path / "one" / "run.json").read_text())
            start_run(tmp_path / "two", read(sheet), run)
        generate(model, sheet, tmp_path / "two")
        if rank == 1:
            assert sorted(p.name for p in (tmp_path / "two" / "images").iterdir()) == ["0001-0.png", "0001-1.png"]
    for path in (tmp_path / "one" / "images").iterdir():
        assert (tmp_path / "two" / "images" / path.name).read_bytes() == path.read_bytes()
