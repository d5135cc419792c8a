"""Caption manifests and the `openimagen encode` subcommand."""

import json

import pytest
import torch
from click.testing import CliRunner

from openimagen.cli import main
from openimagen.text import EmbeddingCache, load_encoder, read_captions

CAPTIONS = ["a red circle", "", 'a "quoted", comma caption', "four blue squares"]


def write_manifests(folder):
    (folder / "captions.txt").write_text("\n".join(CAPTIONS) + "\n")
    (folder / "captions.jsonl").write_text("".join(json.dumps({"caption": c, "id": i}) + "\n"
                                                   for i, c in enumerate(CAPTIONS)))
    rows = "".join(f'{i},"{c.replace(chr(34), chr(34) * 2)}"\n' for i, c in enumerate(CAPTIONS))
    (folder / "captions.csv").write_text("id,caption\n" + rows)


@pytest.mark.parametrize("suffix", ["txt", "jsonl", "csv"])
def test_read_captions_gives_the_same_list_for_every_format(tmp_path, suffix):
    write_manifests(tmp_path)
    assert read_captions(tmp_path / f"captions.{suffix}") == CAPTIONS


def test_manifest_without_the_caption_field_names_the_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"caption": "ok"}\n{"text": "no caption here"}\n')
    with pytest.raises(ValueError, match="line 2 has no string 'caption' field"):
        read_captions(tmp_path / "bad.jsonl")
    (tmp_path / "c.yaml").write_text("caption: x\n")
    with pytest.raises(ValueError, match="unknown format '.yaml'"):
        read_captions(tmp_path / "c.yaml")


def test_encode_command_writes_a_cache_and_resumes(tmp_path):
    write_manifests(tmp_path)
    out = tmp_path / "cache"
    args = ["encode", str(tmp_path / "captions.jsonl"), str(out), "--max-length", "16", "--shard-size", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    cache = EmbeddingCache(out)
    encoder = load_encoder("minilm", max_length=16)
    assert len(cache) == 4 and cache.encoder_id == encoder.id
    emb, mask = encoder.encode(["four blue squares"])
    torch.testing.assert_close(cache.get_by_text("four blue squares").float(), emb[0], atol=2e-3, rtol=1e-3)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "0 shards written, 2 already complete" in again.output


def test_encode_command_reports_a_bad_field_without_a_traceback(tmp_path):
    write_manifests(tmp_path)
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.csv"), str(tmp_path / "out"),
                                       "--field", "prompt"])
    assert result.exit_code == 2 and "no 'prompt' column" in result.output


def test_encode_command_reports_a_missing_encoder_in_one_line(tmp_path, monkeypatch):
    write_manifests(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.txt"), str(tmp_path / "out"),
                                       "--encoder", "no-such-org/no-such-t5"])
    assert result.exit_code == 2 and "no-such-org/no-such-t5" in result.output and "Traceback" not in result.output


def test_encode_command_layers_option_writes_those_hidden_states(tmp_path):
    write_manifests(tmp_path)
    out = tmp_path / "cache"
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.txt"), str(out), "--max-length", "16",
                                       "--layers", "0,-1"])
    assert result.exit_code == 0, result.output
    encoder = load_encoder("minilm", max_length=16, layers=(0, -1))
    cache = EmbeddingCache(out)
    assert cache.encoder_id == encoder.id and cache.dim == 768
    torch.testing.assert_close(cache.get_by_text("a red circle").float(), encoder.encode(["a red circle"])[0][0],
                               atol=2e-3, rtol=1e-3)
    bad = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.txt"), str(out), "--layers", "last"])
    assert bad.exit_code == 2 and "--layers 'last'" in bad.output


def test_ctrl_c_says_how_many_shards_are_complete_and_the_same_command_resumes(tmp_path, monkeypatch):
    from openimagen.text import cache_format

    write_manifests(tmp_path)
    out = tmp_path / "cache"
    calls, real = [], cache_format.write_shard

    def write_shard(*args):                       # Ctrl-C while the third shard is written
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(cache_format, "write_shard", write_shard)
    args = ["encode", str(tmp_path / "captions.txt"), str(out), "--max-length", "16", "--shard-size", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == (f"interrupted: 2 of 4 shard(s) of {out} are complete; "
                                                      "rerun the same command to resume")
    monkeypatch.undo()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "2 shards written, 2 already complete" in again.output
