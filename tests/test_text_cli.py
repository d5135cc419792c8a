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


@pytest.mark.parametrize("suffix", ["txt", "jsonl", "csv"])
def test_read_captions_cleans_them_as_the_data_sources_do(tmp_path, suffix):
    """A BOM (Excel's "CSV UTF-8"), CRLF and runs of spaces or tabs: the cache holds the caption training looks up."""
    from openimagen.data.captions import clean_caption

    messy = ["a  red\tcircle ", "", " four blue squares"]
    write = {"txt": lambda: "\r\n".join(messy) + "\r\n",
             "jsonl": lambda: "".join(json.dumps({"caption": c}) + "\r\n" for c in messy),
             "csv": lambda: "caption\r\n" + "".join(f'"{c}"\r\n' for c in messy)}
    (tmp_path / f"messy.{suffix}").write_bytes(("\ufeff" + write[suffix]()).encode("utf-8"))
    assert read_captions(tmp_path / f"messy.{suffix}") == ["a red circle", "", "four blue squares"]
    assert read_captions(tmp_path / f"messy.{suffix}") == [clean_caption(c) for c in messy]

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
    assert not (tmp_path / "out").exists()              # no empty OUT_DIR left behind


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


@pytest.mark.parametrize("text, what", [("", "the file has no captions"), ("\n \n", "all 2 captions in the file are empty")])
def test_encode_refuses_a_file_without_captions_in_one_line(tmp_path, text, what):
    (tmp_path / "empty.txt").write_text(text)
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "empty.txt"), str(tmp_path / "out")])
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: {tmp_path / 'empty.txt'}: {what}; write one " \
        "caption per line (.txt) or per record (.jsonl / .csv)"
    assert not (tmp_path / "out").exists()


def test_encode_says_how_many_captions_are_empty_and_keeps_them(tmp_path):
    write_manifests(tmp_path)                     # caption 2 of 4 is an empty line
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.txt"), str(tmp_path / "out"),
                                       "--max-length", "16"])
    assert result.exit_code == 0, result.output
    assert f"note: 1 of 4 captions in {tmp_path / 'captions.txt'} are empty (the first: caption 2)" in result.stderr
    assert len(EmbeddingCache(tmp_path / "out")) == 4 and EmbeddingCache(tmp_path / "out")[1].shape[0] == 0


def test_encode_says_a_corrupt_shard_is_encoded_again_in_one_plain_line(tmp_path):
    write_manifests(tmp_path)
    args = ["encode", str(tmp_path / "captions.txt"), str(tmp_path / "out"), "--max-length", "16", "--shard-size", 2]
    assert CliRunner().invoke(main, [str(a) for a in args]).exit_code == 0
    shard = tmp_path / "out" / "shard-00001.safetensors"
    shard.write_bytes(shard.read_bytes()[:-8] + bytes(8))
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0 and "1 shards written, 1 already complete" in result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {shard} is corrupt (it does not match shard-00001.json); encoding it again"]
    assert "cache_writer.py" not in result.stderr


def test_encode_says_once_in_a_plain_line_that_long_captions_are_cut(tmp_path):
    (tmp_path / "long.txt").write_text("a caption with far more words than eight tokens can hold\n" * 3)
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "long.txt"), str(tmp_path / "out"),
                                       "--max-length", "8", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    cut = [line for line in result.stderr.splitlines() if "truncated" in line]
    assert len(cut) == 1 and cut[0].startswith("warning: 1 of 1 prompts were longer than max_length=8") and \
        "TruncationWarning" not in result.stderr


@pytest.mark.parametrize("device, phrase", [("cuda", "--device cuda: device 'cuda' is not available on this machine"),
                                            ("banana", "--device banana: device must be a torch device such as 'cpu'")])
def test_encode_refuses_a_device_this_machine_lacks_in_one_line(tmp_path, monkeypatch, device, phrase):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    write_manifests(tmp_path)
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.txt"), str(tmp_path / "out"),
                                       "--device", device])
    assert result.exit_code == 2 and result.stderr.strip().startswith(f"Error: {phrase}")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_encode_refuses_an_output_folder_it_cannot_create_in_one_line(tmp_path):
    (tmp_path / "captions.txt").write_text("a red circle\n")
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "cache"                # its parent is a file: cannot be made, on any machine
    result = CliRunner().invoke(main, ["encode", str(tmp_path / "captions.txt"), str(out)])
    assert result.exit_code == 2 and result.stderr.strip() == \
        f"Error: OUT_DIR {out}: cannot write there (Not a directory); choose another folder"
