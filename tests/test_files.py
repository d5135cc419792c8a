"""The one atomic-write helper: all or nothing under the final name, usual file mode, no temp files left."""

import os

import pytest
from PIL import Image

from openimagen.files import atomic_path, save_image_atomic, write_json_atomic, write_text_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["metrics.json"]


def test_json_refuses_nan_unless_asked_and_nothing_is_written(tmp_path):
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "a.json", {"loss": float("nan")})
    assert os.listdir(tmp_path) == []
    write_json_atomic(tmp_path / "b.json", {"loss": float("nan")}, allow_nan=True, fsync=True)
    assert (tmp_path / "b.json").read_text() == '{"loss": NaN}\n'


def test_files_get_the_umask_mode_and_text_creates_its_folder(tmp_path):
    mask = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "new" / "prompts.jsonl", "{}\n")
        save_image_atomic(Image.new("RGB", (2, 2)), tmp_path / "x.png")
    finally:
        os.umask(mask)
    assert (tmp_path / "new" / "prompts.jsonl").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == 0o640
    assert Image.open(tmp_path / "x.png").size == (2, 2)
