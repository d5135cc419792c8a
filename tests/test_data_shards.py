"""WebDataset shards: right items, split over ranks and workers without duplicates or losses, bad shards."""
import os
from collections import Counter

import pytest

from openimagen.data import DataError, build_dataset, make_loader
from openimagen.data.synthetic import encode, synthetic_image, write_folder, write_shards


def _keys(dataset, batch_size=2, num_workers=0):
    return [k for b in make_loader(dataset, batch_size, num_workers=num_workers) for k in b["key"]]


def test_shards_yield_the_same_items_as_the_folder_of_the_same_images(tmp_path):
    write_shards(str(tmp_path / "s"), 1, 4)
    write_folder(str(tmp_path / "f"), 4)
    shard_items = list(build_dataset(str(tmp_path / "s" / "00000.tar"), 8, epochs=1, shuffle=False))
    folder_items = list(build_dataset(str(tmp_path / "f"), 8, epochs=1, shuffle=False))
    assert [i["key"] for i in shard_items] == [f"00000{j:04d}" for j in range(4)]
    for s, f in zip(shard_items, folder_items, strict=True):
        assert s["caption"] == f["caption"] and (s["image"] == f["image"]).all()


def test_json_captions_and_pipe_commands_are_read(tmp_path):
    (path,) = write_shards(str(tmp_path), 1, 3, caption_in_json=True)
    items = list(build_dataset(f"pipe:cat {path}", 8, epochs=1))
    assert [i["caption"] for i in items] == ["image 0", "image 1", "image 2"]


@pytest.mark.parametrize("num_shards", [5, 1])                      # shard split, and sample split (too few shards)
def test_two_ranks_times_two_workers_see_every_sample_once_per_epoch(tmp_path, num_shards):
    write_shards(str(tmp_path), num_shards, 12 // num_shards)
    spec = str(tmp_path / ("{00000..%05d}.tar" % (num_shards - 1)))
    seen = Counter()
    for rank in range(2):
        dataset = build_dataset(spec, 8, rank=rank, world_size=2, epochs=2)
        keys = _keys(dataset, num_workers=2)
        assert keys, f"rank {rank} got nothing"
        seen.update(keys)
    assert len(seen) == 12 // num_shards * num_shards and set(seen.values()) == {2}


def test_shard_order_is_reshuffled_every_epoch(tmp_path):
    write_shards(str(tmp_path), 6, 1)
    keys = _keys(build_dataset(str(tmp_path / "{00000..00005}.tar"), 8, epochs=3, seed=4))
    epochs = [keys[i:i + 6] for i in (0, 6, 12)]
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs) and len({tuple(e) for e in epochs}) > 1


def test_truncated_shard_and_incomplete_samples_are_counted_not_fatal(tmp_path):
    good, bad = write_shards(str(tmp_path), 2, 4)
    with open(bad, "r+b") as f:                                     # cut the second shard mid-way
        f.truncate(os.path.getsize(bad) * 2 // 5)     # inside a member, not on a block edge
    from webdataset import TarWriter
    with TarWriter(str(tmp_path / "00002.tar")) as sink:
        sink.write({"__key__": "nocaption", "jpg": b"\xff\xd8 not decoded"})
        sink.write({"__key__": "noimage", "txt": "a caption"})
    dataset = build_dataset(str(tmp_path / "{00000..00002}.tar"), 8, epochs=1, shuffle=False)
    keys = _keys(dataset)
    assert keys[:4] == [f"00000{j:04d}" for j in range(4)] and 4 < len(keys) < 8    # part of the cut shard
    assert dataset.skip_report.counts == {"unreadable_shard": 1, "incomplete_sample": 2}
    assert any("00001.tar" in where for where, _, _ in dataset.skip_report.examples)


def test_a_shard_sample_with_an_empty_caption_is_skipped_and_counted(tmp_path):
    write_shards(str(tmp_path), 1, 2)
    from webdataset import TarWriter
    with TarWriter(str(tmp_path / "00001.tar")) as sink:
        sink.write({"__key__": "emptytxt", "jpg": b"\xff\xd8 not decoded", "txt": " "})
        sink.write({"__key__": "emptyjson", "jpg": b"\xff\xd8 not decoded", "json": {"caption": ""}})
    dataset = build_dataset(str(tmp_path / "{00000..00001}.tar"), 8, epochs=1, shuffle=False)
    assert len(_keys(dataset)) == 2
    assert dataset.skip_report.counts == {"empty_caption": 2}


def test_shard_captions_lose_their_bom_and_line_breaks(tmp_path):
    from webdataset import TarWriter
    image = encode(synthetic_image(0))
    with TarWriter(str(tmp_path / "00000.tar")) as sink:
        sink.write({"__key__": "txt", "jpg": image, "txt": "\ufeffa red\r\ncat\r\n"})
        sink.write({"__key__": "json", "jpg": image, "json": {"caption": " a  blue\ndog "}})
    dataset = build_dataset(str(tmp_path / "00000.tar"), 8, epochs=1, shuffle=False)
    assert [item["caption"] for item in dataset] == ["a red cat", "a blue dog"]


def test_shards_take_the_folder_image_types_and_name_what_an_incomplete_sample_holds(tmp_path):
    from webdataset import TarWriter
    with TarWriter(str(tmp_path / "00000.tar")) as sink:
        sink.write({"__key__": "gif", "gif": encode(synthetic_image(0), "GIF"), "txt": "a gif"})
        sink.write({"__key__": "badjson", "png": encode(synthetic_image(1), "PNG"), "json": b"{oops"})
        sink.write({"__key__": "photo", "v2.jpg": encode(synthetic_image(2)), "v2.txt": "dotted name"})
    dataset = build_dataset(str(tmp_path / "00000.tar"), 8, epochs=1, shuffle=False)
    assert [item["caption"] for item in dataset] == ["a gif"]
    details = {where.split("#")[1]: detail for where, _, detail in dataset.skip_report.examples}
    assert dataset.skip_report.counts == {"incomplete_sample": 2}
    assert details["badjson"].startswith("badjson.json is not valid JSON")
    assert "it has photo.v2.jpg, photo.v2.txt" in details["photo"] and "first dot" in details["photo"]


def test_a_stream_without_any_sample_fails_clearly_instead_of_spinning(tmp_path):
    with pytest.raises(RuntimeError, match="found no samples"):
        next(iter(build_dataset(str(tmp_path / "missing.tar"), 8)))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shards_without_any_sample_are_one_line_saying_why_even_from_a_loader_worker(tmp_path, num_workers):
    (tmp_path / "00000.tar").write_bytes(b"")
    dataset = build_dataset(str(tmp_path / "00000.tar"), 8)
    with pytest.raises(DataError) as info:
        next(iter(make_loader(dataset, 2, num_workers=num_workers)))
    message = str(info.value)
    assert "\n" not in message and message.startswith("WebDataset ") and "found no samples" in message
    assert message.endswith(f"skipped: {tmp_path / '00000.tar'} (unreadable_shard: ReadError: empty file)")
