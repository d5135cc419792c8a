"""`openimagen info` on a tiny saved cascade: stages, sizes and parameter counts match the loaded networks."""

import json

import pytest

from openimagen.cascade import Cascade
from openimagen.cli import model_folder
from openimagen.nn.config import config_to_dict
from openimagen.nn.presets import get_preset
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import MAX_TOKENS, MINILM_DIM, assert_one_line_error, cli, save_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "model")


def info_json(*args):
    result = cli("info", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_stages_resolutions_and_parameter_counts_match_the_loaded_networks(model):
    summary = info_json("--model", model)
    cascade = Cascade.from_pretrained(model)
    counts = [sum(p.numel() for p in network.parameters()) for network in cascade.networks]
    assert [s["params"] for s in summary["stages"]] == counts and summary["total_params"] == sum(counts)
    assert [(s["input"], s["resolution"]) for s in summary["stages"]] == [(None, 8), (8, 16)]
    assert [s["network"] for s in summary["stages"]] == ["tiny-test-base", "tiny-test-sr"]
    assert summary["max_text_tokens"] == MAX_TOKENS and "MiniLM" in summary["text_encoder"]
    assert all(s["text_dim"] == MINILM_DIM and s["weights_dtype"] == "F32" for s in summary["stages"])
    for stage, config in zip(summary["stages"], cascade.config.stages):
        assert stage["sampling"] == config.sampling_defaults()
    assert summary["provenance"] == {} and not summary["shipped"]
    assert summary["text_layers"] == list(cascade.config.text_encoder_layers)


def test_text_output_names_every_stage_with_its_parameters_and_defaults(model):
    result = cli("info", "--model", model)
    assert result.exit_code == 0, result.output
    counts = [s["params"] for s in info_json("--model", model)["stages"]]
    assert f"stage 1: text -> 8x8, tiny-test-base, {counts[0]:,} parameters" in result.stdout
    assert f"stage 2: 8x8 -> 16x16, tiny-test-sr, {counts[1]:,} parameters" in result.stdout
    assert "sampling defaults: dpmpp_2m, 2 steps, guidance 5.0" in result.stdout
    assert f"at most {MAX_TOKENS} tokens per prompt" in result.stdout and "provenance: none recorded" in result.stdout


def test_provenance_json_and_readme_are_shown(model, tmp_path):
    folder = save_tiny_model(tmp_path / "trained")
    provenance = {"command": "openimagen train configs/shapes.toml", "steps": {"1": 1200, "2": 800},
                  "wall_time_hours": 2.9}
    (folder / "provenance.json").write_text(json.dumps(provenance))
    (folder / "metrics.json").write_text(json.dumps({"alignment": 0.93}))
    (folder / "README.md").write_text("# shapes cascade\n")
    assert info_json("--model", folder)["provenance"] == {"provenance.json": provenance,
                                                          "metrics.json": {"alignment": 0.93}}
    text = cli("info", "--model", folder, "--verbose").stdout
    assert "command: openimagen train configs/shapes.toml" in text and '"2": 800' in text
    assert "provenance (metrics.json):\n  alignment: 0.93" in text
    assert f"readme: {folder.resolve() / 'README.md'}" in text


def test_the_default_text_is_a_short_summary_with_headline_metrics(model, tmp_path):
    folder = save_tiny_model(tmp_path / "trained")
    provenance = {"command": "openimagen train configs/shapes.toml", "config": {"train": {"lr": 3e-4}}, "note": "x" * 200}
    metrics = {"eval": {"alignment": 0.239, "categories": {"colors": {"accuracy": 0.5}},
                        "fd_shapes": {"fd": 181.36, "floor": 35.9}}, "heldout": {"alignment": 0.173}}
    (folder / "provenance.json").write_text(json.dumps(provenance))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    lines = cli("info", "--model", folder).stdout.splitlines()
    assert len(lines) <= 12
    assert "provenance: command: openimagen train configs/shapes.toml" in lines
    assert "metrics: eval.alignment 0.239, eval.fd_shapes.fd 181.4, heldout.alignment 0.173" in lines
    assert not any("lr" in line or "xxxx" in line or "colors" in line for line in lines)
    verbose = cli("info", "--model", folder, "-v").stdout
    assert '"lr": 0.0003' in verbose and "x" * 200 in verbose and "colors" in verbose


def test_the_shipped_model_summary_fits_a_screen():
    result = cli("info")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) <= 15, result.stdout


def test_text_layers_shown_are_the_ones_the_cascade_reads():
    summary = info_json()
    config = Cascade.from_pretrained(summary["model"]).config
    assert summary["text_layers"] == list(config.text_encoder_layers)
    assert [s["text_layers"] for s in summary["stages"]] == [s.text_encoder_layers for s in config.stages]
    layers = ", ".join(map(str, config.text_encoder_layers))
    assert f"(hidden states of layers {layers})" in cli("info").stdout


@pytest.fixture(scope="module")
def flagged_model(tmp_path_factory):
    """Stage 2 self-conditioned and with attention after every residual block, stage 1 neither: both cases of each
    flag (the shipped cascade need not have both)."""
    network = config_to_dict(get_preset("tiny-test-sr", self_condition=True, attn_every_res_block=True))
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "flagged", sr_network=network)


@pytest.mark.parametrize("flag, words", [("self_condition", "self-conditioned"),
                                         ("attn_every_res_block", "attention after every residual block")])
def test_network_flags_shown_are_the_networks(flagged_model, flag, words):
    networks = Cascade.from_pretrained(flagged_model).networks
    flags = [getattr(network.config, flag, False) for network in networks]
    assert flags == [False, True]
    assert [s[flag] for s in info_json("--model", flagged_model)["stages"]] == flags
    lines = [line for line in cli("info", "--model", flagged_model).stdout.splitlines() if line.startswith("  stage ")]
    assert [words in line for line in lines] == flags


def test_user_errors_print_one_line(model, tmp_path, monkeypatch):
    assert_one_line_error(cli("info", "--model", tmp_path / "nowhere"), "no such folder")
    assert_one_line_error(cli("info", "--model", tmp_path), "not a saved cascade (no config.json)")
    (tmp_path / "config.json").write_text(json.dumps({"format": "something-else"}))
    assert_one_line_error(cli("info", "--model", tmp_path), "is not a version-1 openimagen-cascade config")
    monkeypatch.setattr(model_folder, "SHIPPED_MODEL", tmp_path / "shapes-cascade")
    assert_one_line_error(cli("info"), "the shipped model is not installed")
    monkeypatch.setattr(model_folder, "SHIPPED_MODEL", model)
    assert info_json()["stages"][0]["resolution"] == 8


def test_help_has_examples():
    result = cli("info", "--help")
    assert result.exit_code == 0 and "Examples:" in result.output
