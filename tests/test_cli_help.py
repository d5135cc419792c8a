"""What a new user reads: examples in every --help, shapes-world prompts, no weight-loading bars, honest files."""

import re
from pathlib import Path

import pytest
from PIL import Image

from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["sample", "edit", "info", "train", "encode", "bench"])
def test_help_has_examples(name):
    result = cli(name, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output


def test_sample_help_uses_shapes_the_shipped_model_knows():
    from openimagen.data.shapes.vocab import SHAPES

    prompts = re.findall(r'openimagen sample "([^"]+)"', cli("sample", "--help").output)
    nouns = {word.rstrip("s") for prompt in prompts for word in prompt.split()[-1:]}
    assert prompts and nouns <= set(SHAPES), nouns


def test_encode_prints_no_weight_loading_bar(tmp_path):
    (tmp_path / "c.txt").write_text("a red circle\n")
    result = cli("encode", tmp_path / "c.txt", tmp_path / "cache", "--max-length", 16, "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "Loading weights" not in result.stderr


@pytest.mark.parametrize("suffix, format", [(".jpg", "JPEG"), (".png", "PNG")])
def test_demo_writes_the_format_its_suffix_names(tmp_path, suffix, format):
    out = tmp_path / f"demo{suffix}"
    assert cli("demo", "-o", out, "--num-images", 1, "--steps", 1).exit_code == 0
    assert Image.open(out).format == format


def test_docs_show_no_machine_specific_paths():
    pattern = re.compile(r"(/work/|/home/|/root/)\S*(venv|python)")
    hits = [f"{p.name}: {m.group(0)}" for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
            for m in pattern.finditer(p.read_text())]
    assert not hits


def test_readme_says_how_a_cpu_only_user_gets_the_cpu_wheel():
    readme = (ROOT / "README.md").read_text()
    assert "is the CPU build" not in readme
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in readme


def test_no_extra_of_the_package_pulls_imagen_pytorch_and_the_benchmark_builds_its_own_env():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert not [dep for deps in extras.values() for dep in deps if "imagen-pytorch" in dep or "torchvision" in dep]
    script = (ROOT / "benchmarks" / "reference-env.sh").read_text()
    assert "imagen-pytorch==2.1.0" in script and "venv" in script
    assert "benchmarks/reference-env.sh" in (ROOT / "docs" / "benchmarks.md").read_text()
