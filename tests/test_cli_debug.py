"""`--debug` on every subcommand (and before it): the error behind a one-line user error is raised instead."""

import json

import pytest

from cli_helpers import assert_one_line_error, cli, error_chain

SUBCOMMANDS = ["bench", "demo", "edit", "encode", "export", "info", "sample", "train", "rate", "eval fid", "eval clip-score",
               "drawbench generate"]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_accepts_debug_and_lists_it_in_help(name):
    result = cli(*name.split(), "--help")
    assert result.exit_code == 0 and "--debug" in result.output


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_subcommand_shows_the_underlying_error(tmp_path, where):
    (tmp_path / "config.json").write_text("{not json")
    args = ["info", "--model", tmp_path]
    assert_one_line_error(cli(*args), "config.json is unreadable")
    result = cli("--debug", *args) if where == "before" else cli(*args, "--debug")
    assert json.JSONDecodeError in error_chain(result.exception)   # the traceback shows it


def test_train_with_debug_reports_a_config_error_in_one_line_without_debug(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[train]\nno_such_key = 1\n")
    assert_one_line_error(cli("train", config), "no_such_key")
    result = cli("train", config, "--debug")
    assert type(result.exception).__name__ == "ConfigError"
