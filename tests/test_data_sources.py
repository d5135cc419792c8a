"""Folder and manifest sources: right items, sharding by rank and worker, source dispatch, manifest errors."""
import json
import os
from collections import Counter

import pytest
import torch

from openimagen.data import (DataError, DataSourceError, ManifestError, build_dataset, collate, make_loader,
                             read_manifest, source_type)
from openimagen.data.preprocess import image_to_tensor, resize_and_crop
from openimagen.data.synthetic import synthetic_image, write_folder


def _keys(dataset, batch_size=3, num_workers=0):
    return [k for b in make_loader(dataset, batch_size, num_workers=num_workers) for k in b["key"]]


def test_folder_is_recursive_pairs_captions_and_counts_uncaptioned_images(tmp_path):
    write_folder(str(tmp_path / "a"), 2)
    write_folder(str(tmp_path / "a" / "nested"), 1)
    synthetic_image(9).save(tmp_path / "lonely.png")                # no lonely.txt
    (tmp_path / "notes.md").write_text("ignored")
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    items = list(dataset)
    assert [(i["key"], i["caption"]) for i in items] == [
        ("a/00000", "image 0"), ("a/00001", "image 1"), ("a/nested/00000", "image 0")]
    expected = image_to_tensor(resize_and_crop(synthetic_image(1).convert("RGB"), 8))
    assert (items[1]["image"] - expected).abs().max() < 0.15        # JPEG round trip of the same picture
    assert dataset.skip_report.counts == {"no_caption": 1}


def test_csv_and_jsonl_manifests_give_the_same_items_and_count_missing_files(tmp_path):
    write_folder(str(tmp_path / "img"), 3)
    rows = [("img/00000.jpg", "a, quoted caption"), ("img/00002.jpg", "two"), ("img/gone.jpg", "missing")]
    (tmp_path / "m.csv").write_text("id,path,caption\n" + "".join(f'{i},{p},"{c}"\n' for i, (p, c) in enumerate(rows)))
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"path": p, "caption": c}) + "\n\n" for p, c in rows))
    results = []
    for name in ("m.csv", "m.jsonl"):
        dataset = build_dataset(str(tmp_path / name), 8, epochs=1, shuffle=False)
        results.append([(i["key"], i["caption"], i["image"].sum().item()) for i in dataset])
        assert dataset.skip_report.counts == {"missing": 1}
    assert results[0] == results[1]
    assert [r[:2] for r in results[0]] == [("img/00000", "a, quoted caption"), ("img/00002", "two")]


def test_an_empty_caption_file_is_skipped_and_counted_not_trained_as_unconditional(tmp_path):
    write_folder(str(tmp_path), 3)
    (tmp_path / "00001.txt").write_text("")
    (tmp_path / "00002.txt").write_text("  \n")
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    assert [item["caption"] for item in dataset] == ["image 0"]
    assert dataset.skip_report.counts == {"empty_caption": 2}
    assert dataset.skip_report.examples[0][2] == "00001.txt is empty; write the caption in it"


def test_a_folder_link_loop_is_read_once_and_an_unreadable_caption_is_counted(tmp_path):
    write_folder(str(tmp_path / "a"), 2)
    (tmp_path / "a" / "up").symlink_to(tmp_path)                     # a loop: a/up/a/up/... would repeat a/ 40 times
    (tmp_path / "a" / "00001.txt").unlink()
    (tmp_path / "a" / "00001.txt").symlink_to(tmp_path / "gone.txt")  # a dangling caption link
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    assert [item["key"] for item in dataset] == ["a/00000"]
    assert dataset.skip_report.counts == {"duplicate": 1, "unreadable_caption": 1}
    assert (str(tmp_path / "a" / "00001.jpg"), "unreadable_caption", "00001.txt: No such file or directory") \
        in dataset.skip_report.examples


def test_a_folder_that_cannot_be_listed_is_counted_not_silently_left_out(tmp_path, monkeypatch):
    write_folder(str(tmp_path / "ok"), 1)
    write_folder(str(tmp_path / "locked"), 1)
    scandir = os.scandir

    def no_permission(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)
    monkeypatch.setattr(os, "scandir", no_permission)
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    assert [item["key"] for item in dataset] == ["ok/00000"]
    assert dataset.skip_report.examples == [(str(tmp_path / "locked"), "unreadable_folder", "Permission denied")]


def test_a_caption_is_found_whatever_the_unicode_form_of_its_name_or_the_case_of_txt(tmp_path):
    import unicodedata
    nfd, nfc = unicodedata.normalize("NFD", "café au lait"), unicodedata.normalize("NFC", "café au lait")
    for index, (image, caption, text) in enumerate([(nfd, nfc, "a cup"), ("B", "B.TXT", "upper"), ("c", "c.TXT", "no")]):
        synthetic_image(index).save(tmp_path / f"{image}.jpg")
        (tmp_path / (caption if caption.lower().endswith(".txt") else f"{caption}.txt")).write_text(text)
    (tmp_path / "c.txt").write_text("c exact")                       # beside c.TXT: the exact name wins
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    assert sorted((item["key"], item["caption"]) for item in dataset) == [("B", "upper"), ("c", "c exact"),
                                                                         (nfd, "a cup")]
    assert dataset.skip_report.total == 0


def test_folder_captions_lose_their_bom_and_line_breaks(tmp_path):
    write_folder(str(tmp_path), 3)
    (tmp_path / "00000.txt").write_bytes("\ufeffa red cat\r\n".encode())        # Notepad: BOM + CRLF
    (tmp_path / "00001.txt").write_bytes(b"two lines\r\nof  caption\t \r\n\r\n")
    dataset = build_dataset(str(tmp_path), 8, epochs=1, shuffle=False)
    assert [item["caption"] for item in dataset] == ["a red cat", "two lines of caption", "image 2"]


@pytest.mark.parametrize("name, text", [
    ("m.csv", '\ufeffpath,caption\r\nimg/00000.jpg,"a red\r\ncat "\r\nimg/00001.jpg,two\r\n'),   # Excel's CSV UTF-8
    ("m.jsonl", '\ufeff{"path": "img/00000.jpg", "caption": "a red\\ncat "}\r\n'
                '{"path": "img/00001.jpg", "caption": "two"}\r\n'),
])
def test_a_manifest_with_a_bom_and_crlf_is_read_and_its_captions_cleaned(tmp_path, name, text):
    write_folder(str(tmp_path / "img"), 2)
    (tmp_path / name).write_bytes(text.encode())
    assert [(s.key, s.caption) for s in read_manifest(str(tmp_path / name))] == [
        ("img/00000", "a red cat"), ("img/00001", "two")]


def test_a_manifest_row_naming_a_folder_or_a_missing_file_is_skipped_with_the_reason_in_words(tmp_path):
    write_folder(str(tmp_path / "img"), 1)
    (tmp_path / "m.csv").write_text("path,caption\nimg/00000.jpg,ok\nimg,a folder\nimg/gone.jpg,gone\n")
    dataset = build_dataset(str(tmp_path / "m.csv"), 8, epochs=1, shuffle=False)
    assert [item["key"] for item in dataset] == ["img/00000"]
    assert sorted(dataset.skip_report.examples) == [(str(tmp_path / "img"), "unreadable", "a folder, not an image file"),
                                                    (str(tmp_path / "img/gone.jpg"), "missing", "no such file")]


def test_a_repeated_manifest_row_is_skipped_and_counted_but_other_captions_of_an_image_are_kept(tmp_path):
    write_folder(str(tmp_path / "img"), 2)
    rows = [("img/00000.jpg", "a cat"), ("img/00001.jpg", "a dog"), ("img/00000.jpg", "a cat "),
            (str(tmp_path / "img/00000.jpg"), "a cat"), ("img/00000.jpg", "a small cat")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"path": p, "caption": c}) + "\n" for p, c in rows))
    dataset = build_dataset(str(tmp_path / "m.jsonl"), 8, epochs=1, shuffle=False)
    assert [item["caption"] for item in dataset] == ["a cat", "a dog", "a small cat"]
    assert dataset.skip_report.counts == {"duplicate": 2}
    assert dataset.skip_report.examples[0] == (f"{tmp_path / 'm.jsonl'}:3", "duplicate",
                                               "repeats line 1 (same file and caption)")


@pytest.mark.parametrize("name, line, text", [
    ("m.csv", 3, 'path,caption\nimg/00000.jpg,zero\nimg/00001.jpg,""\nimg/00002.jpg, \n'),
    ("m.jsonl", 2, '{"path": "img/00000.jpg", "caption": "zero"}\n{"path": "img/00001.jpg", "caption": ""}\n'
                   '{"path": "img/00002.jpg", "caption": " "}\n'),
])
def test_a_manifest_row_with_an_empty_caption_is_skipped_and_counted(tmp_path, name, line, text):
    write_folder(str(tmp_path / "img"), 3)
    (tmp_path / name).write_text(text)
    dataset = build_dataset(str(tmp_path / name), 8, epochs=1, shuffle=False)
    assert [item["caption"] for item in dataset] == ["zero"]
    assert dataset.skip_report.counts == {"empty_caption": 2}
    where, _, detail = dataset.skip_report.examples[0]
    assert where.endswith("00001.jpg") and detail == f"{tmp_path / name}:{line} has an empty caption"


def test_a_finite_pass_in_which_every_image_is_unreadable_is_one_line_error_not_an_empty_stream(tmp_path):
    write_folder(str(tmp_path), 2)
    for image in tmp_path.glob("*.jpg"):
        image.write_bytes(b"")
    with pytest.raises(DataError) as info:                          # e.g. train's sample-grid examples
        list(build_dataset(str(tmp_path), 8, epochs=1, shuffle=False))
    assert str(info.value) == (f"folder:{tmp_path}: no readable sample in a full pass over the data (2 unreadable "
                               f"inputs, e.g. {tmp_path / '00000.jpg'} (unreadable: zero-byte file); "
                               f"{tmp_path / '00001.jpg'} (unreadable: zero-byte file)); fix or remove them")


def test_a_source_whose_captions_are_all_empty_says_so(tmp_path):
    write_folder(str(tmp_path), 2)
    for caption in tmp_path.glob("*.txt"):
        caption.write_text("")
    with pytest.raises(DataSourceError, match=r"no usable samples, all 2 inputs skipped \(2 empty_caption\)"):
        build_dataset(str(tmp_path), 8)


@pytest.mark.parametrize("name, text, message", [
    ("m.jsonl", '{"path": "a.jpg", "caption": "x"}\n{"path": "b.jpg"}\n', "m.jsonl:2: each line needs"),
    ("m.jsonl", '{"path": "a.jpg", "caption": "x"}\n\n{oops\n', "m.jsonl:3: invalid JSON"),
    ("m.csv", "path,caption\na.jpg,x\nb.jpg,y,z\n", "m.csv:3: expected 2 fields"),
    ("m.csv", "file,text\na.jpg,x\n", "m.csv:1: the CSV header must name"),
    ("m.csv", "path;caption\na.jpg;x\n", r"got \['path;caption'\] \(separate the columns with commas, not ';'\)"),
    ("m.jsonl", '{"path": 3, "caption": "x"}\n', "m.jsonl:1: 'path' must be"),
    ("m.csv", 'path,caption\na.jpg,x\nb.jpg,"never closed\nc.jpg,y\n', r"m.csv:3: not valid CSV \(unexpected end"),
    ("m.csv", 'path,caption\na.jpg,"x" y\n', "m.csv:2: not valid CSV"),
    ("m.csv", "path,caption\na.jpg," + "w" * 200_000 + "\n", r"m.csv:2: not valid CSV \(field larger"),
    ("m.csv", "path,caption\nhttps://example.com/a.jpg,a cat\n", "m.csv:2: 'path' is a URL .*download the images"),
    ("m.csv", "path,caption\n", "lists no images"),
    ("m.jsonl", "\n", "lists no images"),
])
def test_manifest_errors_name_the_file_and_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(str(tmp_path / name))


def test_source_strings_are_dispatched_and_unknown_ones_explained(tmp_path):
    assert source_type(str(tmp_path)) == "folder"
    assert source_type("x/train.csv") == source_type("x/train.jsonl") == "manifest"
    for spec in ("a.tar", "s/{000..009}.tar", "pipe:curl -s http://x/0.tar", "https://h/0.tar", "a.tar::b.tar"):
        assert source_type(spec) == "webdataset"
    assert source_type("shapes") == source_type("shapes:specs.jsonl") == "shapes"
    with pytest.raises(ValueError, match="not an existing folder"):
        build_dataset(str(tmp_path / "nope"), 8)
    with pytest.raises(DataSourceError, match=r"a \.json file is not a manifest; write one JSON object per line"):
        build_dataset(str(tmp_path / "train.json"), 8)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['colour'\]"):
        build_dataset({"type": "folder", "path": str(tmp_path), "colour": 1}, 8)


def test_ranks_and_workers_partition_every_epoch_without_duplicates(tmp_path):
    keys = write_folder(str(tmp_path), 10)
    seen = Counter()
    for rank in range(2):
        dataset = build_dataset(str(tmp_path), 8, rank=rank, world_size=2, seed=3, epochs=2)
        seen.update(_keys(dataset, batch_size=2, num_workers=2))
    assert seen == Counter({k: 2 for k in keys})                    # 2 epochs: each key exactly twice


def test_each_epoch_is_a_new_seeded_permutation(tmp_path):
    keys = write_folder(str(tmp_path), 12)
    order = _keys(build_dataset(str(tmp_path), 8, seed=1, epochs=2))
    assert sorted(order[:12]) == sorted(order[12:]) == keys and order[:12] != order[12:]
    assert order == _keys(build_dataset(str(tmp_path), 8, seed=1, epochs=2))
    assert order != _keys(build_dataset(str(tmp_path), 8, seed=2, epochs=2))


def test_infinite_stream_repeats_and_collates(tmp_path):
    write_folder(str(tmp_path), 3)
    loader = make_loader(build_dataset(str(tmp_path), 8), batch_size=5)
    batch = next(iter(loader))
    assert batch["image"].shape == (5, 3, 8, 8) and batch["image"].dtype == torch.float32
    assert len(batch["caption"]) == len(batch["key"]) == 5 and set(batch) == {"image", "caption", "key"}
    assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0


def test_map_style_access_replaces_unreadable_files_by_the_next_sample(tmp_path):
    write_folder(str(tmp_path), 3)
    (tmp_path / "00001.jpg").write_bytes(b"")                       # zero-byte image
    dataset = build_dataset(str(tmp_path), 8, shuffle=False)
    assert len(dataset) == 3 and dataset[0]["key"] == "00000"
    assert dataset[1]["key"] == "00002" and dataset.skip_report.counts == {"unreadable": 1}
    assert dataset[1]["image"].shape == (3, 8, 8)


def test_map_style_access_to_a_source_with_no_readable_file_is_one_line_error(tmp_path):
    write_folder(str(tmp_path), 2)
    for image in tmp_path.glob("*.jpg"):
        image.write_bytes(b"")
    with pytest.raises(DataError) as info:
        build_dataset(str(tmp_path), 8)[0]
    assert "\n" not in str(info.value) and "none of the 2 samples could be read (e.g. " in str(info.value)
    assert str(info.value).endswith("00001.jpg (unreadable: zero-byte file)); fix or remove them")


def test_collate_stacks_samples_and_drops_skip_only_markers():
    items = [{"image": torch.full((3, 4, 4), float(i)), "caption": f"c{i}", "key": f"k{i}"} for i in range(2)]
    batch = collate(items + [{"_stream": 0, "_index": 5, "_skipped": [("x", "unreadable", "")]}])
    assert set(batch) == {"image", "caption", "key"} and batch["image"].shape == (2, 3, 4, 4)
    assert batch["image"][1].eq(1).all() and batch["caption"] == ["c0", "c1"] and batch["key"] == ["k0", "k1"]


def test_a_plain_dataloader_with_workers_also_splits_without_duplicates(tmp_path):
    keys = write_folder(str(tmp_path), 6)
    dataset = build_dataset(str(tmp_path), 8, epochs=1)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate)
    assert sorted(k for b in loader for k in b["key"]) == keys
