"""Shared helpers for the CLI tests (not a test module): a tiny saved cascade that uses the real MiniLM encoder,
and running `openimagen ...` in-process."""

import torch
from click.testing import CliRunner

from openimagen.cascade import Cascade
from openimagen.cli import main
from cascade_helpers import tiny_cascade_config

MINILM_DIM = 384
MAX_TOKENS = 8          # small, so a prompt over the token limit is short


def save_tiny_model(folder, seed: int = 0, sr_network: dict | None = None):
    """8 px -> 16 px random cascade, 2 steps per stage, MiniLM text encoder cut at MAX_TOKENS tokens; `sr_network`
    replaces stage 2's network config."""
    config = tiny_cascade_config()
    if sr_network is not None:
        config.stages[1].network = sr_network
    config.max_text_length = MAX_TOKENS
    torch.manual_seed(seed)
    cascade = Cascade.from_config(config, MINILM_DIM)
    cascade.save_pretrained(str(folder))
    return folder


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, phrase: str) -> None:
    """Non-zero exit, exactly one line on stderr naming the problem, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception   # not an uncaught exception
    assert len(lines) == 1 and lines[0].startswith("Error: ") and phrase in lines[0], result.stderr
    assert "Traceback" not in result.output


def error_chain(error) -> list[type]:
    """The types of `error` and of the errors it was raised from (`raise ... from`)."""
    chain = []
    while error is not None:
        chain.append(type(error))
        error = error.__cause__
    return chain
