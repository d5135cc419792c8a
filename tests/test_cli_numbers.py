"""Numbers on the command line: every float finite and in range, seeds in 0..2^64-1, NaN never written to JSON."""

import math

import pytest
from PIL import Image

from openimagen.cli.pngmeta import save_png
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli, save_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "model")


@pytest.mark.parametrize("args, phrase", [
    (["--guidance", "nan"], "--guidance must be a finite number, got nan"),
    (["--guidance", "inf"], "--guidance must be a finite number, got inf"),
    (["--guidance", "-inf"], "--guidance must be a finite number, got -inf"),
    (["--aug-level", "nan"], "--aug-level must be a finite number, got nan"),
    (["--seed", "-1"], "--seed must be in 0..2^64-1"),
    (["--seed", str(2**64)], "--seed must be in 0..2^64-1"),
])
def test_sample_refuses_non_finite_floats_and_out_of_range_seeds(model, tmp_path, args, phrase):
    result = cli("sample", "a red circle", "--model", model, "-o", tmp_path / "x.png", *args)
    assert_one_line_error(result, phrase)
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize("args, phrase", [
    (["--guidance", "nan"], "--guidance must be a finite number, got nan"),
    (["--aug-level", "inf"], "--aug-level must be a finite number, got inf"),
    (["--steps", "0"], "--steps must be a positive integer, got 0"),
    (["--seed", "-5"], "--seed must be in 0..2^64-1"),
])
def test_bench_refuses_the_same_bad_numbers(tmp_path, args, phrase):
    result = cli("bench", "--split", "eval", "--generator", "noise", "--out", tmp_path / "b", *args)
    assert_one_line_error(result, phrase)
    assert not (tmp_path / "b").exists()


def test_demo_refuses_a_seed_out_of_range(tmp_path):
    assert_one_line_error(cli("demo", "-o", tmp_path / "d.png", "--seed", -1), "--seed must be in 0..2^64-1")


def test_the_largest_seed_is_accepted_and_stored(model, tmp_path):
    from openimagen.cli.pngmeta import read_record

    result = cli("sample", "a", "--model", model, "-o", tmp_path / "x.png", "--seed", 2**64 - 1, "--threads", 1)
    assert result.exit_code == 0, result.output
    assert read_record(tmp_path / "x.png")["recipe"]["seed"] == 2**64 - 1


def test_a_png_record_never_holds_nan(tmp_path):
    with pytest.raises(ValueError):
        save_png(Image.new("RGB", (2, 2)), tmp_path / "x.png", {"recipe": {"guidance_scale": math.nan}})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("field", ["guidance_scale", "steps", "resolution"])
def test_a_config_number_must_be_finite(field):
    from openimagen.cascade import StageConfig
    from openimagen.config import ConfigError

    values = {"resolution": 8, "network": "tiny-test-base", field: math.inf}
    with pytest.raises(ConfigError, match=f"{field}: must be a finite number, got inf"):
        StageConfig(**values)


def test_a_prompt_of_unknown_tokens_is_sampled_with_a_warning(model, tmp_path):
    result = cli("sample", "a red circle", "\U0001F600 \U0001F600", "--model", model, "-o", tmp_path / "x.png",
                 "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "warning: prompt 2" in result.stderr and "mostly unknown to the text encoder" in result.stderr
    assert "prompt 1" not in result.stderr


def test_an_empty_prompt_is_sampled_unconditionally_with_a_note(model, tmp_path):
    result = cli("sample", "a red circle", "  ", "--model", model, "-o", tmp_path / "x.png", "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "note: prompt 2 is empty" in result.stderr and "unconditional" in result.stderr
    assert "prompt 1" not in result.stderr
    assert len(list(tmp_path.glob("*.png"))) == 2
