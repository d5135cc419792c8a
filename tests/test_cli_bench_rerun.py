"""`openimagen bench` run again into the same --out: images of the earlier run are cleared, never re-judged."""

from PIL import Image

from cli_helpers import cli


def test_a_rerun_into_the_same_out_clears_the_earlier_runs_images(tmp_path):
    out, images = tmp_path / "b", tmp_path / "b" / "images"
    images.mkdir(parents=True)
    for name in ("0000-3.png", "0099-0.png"):                        # left by an earlier, larger run
        Image.new("RGB", (8, 8)).save(images / name)
    (images / "notes.txt").write_text("mine")                        # not a bench image: kept
    result = cli("bench", "--split", "eval", "--generator", "noise", "--limit", 1, "--images-per-prompt", 1,
                 "--no-fd", "--size", 8, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in images.iterdir()) == ["0000-0.png", "notes.txt"]
    assert "removed 2 images of an earlier run" in result.stderr
    rejudged = cli("bench", "--split", "eval", "--limit", 1, "--images-per-prompt", 1, "--no-fd",
                   "--images", images, "--out", tmp_path / "again")
    assert rejudged.exit_code == 0, rejudged.output
    assert "(0/1 images)" in rejudged.stdout or "(1/1 images)" in rejudged.stdout
