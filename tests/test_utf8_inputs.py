"""Text that is not UTF-8: never silently altered; skipped and counted (training captions) or refused with the file,
line and byte named (caption lists, manifests, prompts)."""

import os

import pytest

from openimagen.data import build_dataset
from openimagen.data.synthetic import write_folder, write_shards
from openimagen.files import NotUtf8Error, read_utf8
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli, save_tiny_model

LATIN1 = "a red \u00e9 circle".encode("latin-1")                  # b"a red \xe9 circle": not UTF-8


def test_read_utf8_names_the_file_line_and_byte(tmp_path):
    (tmp_path / "c.txt").write_bytes(b"fine\n" + LATIN1 + b"\n")
    with pytest.raises(NotUtf8Error, match=r"c.txt line 2: not UTF-8 text \(byte 0xe9\)"):
        read_utf8(tmp_path / "c.txt")


def test_a_folder_caption_that_is_not_utf8_is_skipped_and_counted_not_altered(tmp_path):
    write_folder(str(tmp_path), 3)
    (tmp_path / "00001.txt").write_bytes(LATIN1)
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    captions = [item["caption"] for item in dataset]
    assert captions == ["image 0", "image 2"]
    assert dataset.skip_report.counts == {"caption_not_utf8": 1}
    where, _, detail = dataset.skip_report.examples[0]
    assert "00001" in where and "byte 0xe9" in detail


def test_a_shard_caption_that_is_not_utf8_is_skipped_and_counted(tmp_path):
    write_shards(str(tmp_path), 1, 2)
    from webdataset import TarWriter
    with TarWriter(str(tmp_path / "00001.tar")) as sink:
        sink.write({"__key__": "latin1", "jpg": b"\xff\xd8 not decoded", "txt": LATIN1})
    dataset = build_dataset(str(tmp_path / "{00000..00001}.tar"), 8, epochs=1, shuffle=False)
    assert len([item for item in dataset]) == 2
    assert dataset.skip_report.counts == {"caption_not_utf8": 1}


@pytest.mark.parametrize("suffix, content", [(".jsonl", b'{"path": "a.jpg", "caption": "ok"}\n{"path": "b.jpg", '
                                                         b'"caption": "' + LATIN1 + b'"}\n'),
                                             (".csv", b"path,caption\na.jpg,ok\nb.jpg," + LATIN1 + b"\n")])
def test_a_manifest_that_is_not_utf8_names_the_line(tmp_path, suffix, content):
    (tmp_path / f"m{suffix}").write_bytes(content)
    with pytest.raises(ValueError, match=rf"m{suffix} line 3: not UTF-8 text|m{suffix} line 2: not UTF-8 text"):
        build_dataset(str(tmp_path / f"m{suffix}"), 8)


def test_encode_names_the_file_and_line_of_a_caption_that_is_not_utf8(tmp_path):
    (tmp_path / "captions.txt").write_bytes(b"a blue square\n" + LATIN1 + b"\n")
    result = cli("encode", tmp_path / "captions.txt", tmp_path / "cache")
    assert_one_line_error(result, f"{tmp_path / 'captions.txt'} line 2: not UTF-8 text (byte 0xe9)")


def test_a_prompt_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    model = save_tiny_model(tmp_path / "model")
    prompt = os.fsdecode(LATIN1)                    # how Python hands a non-UTF-8 argv byte to the program
    result = cli("sample", "fine", prompt, "--model", model, "-o", tmp_path / "x.png")
    assert_one_line_error(result, "prompt 2 is not UTF-8 text (byte 0xe9)")
