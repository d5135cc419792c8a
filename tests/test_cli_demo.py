import numpy as np
from click.testing import CliRunner
from PIL import Image

from openimagen.cli import main
from openimagen.cli.demo import toy_images


def test_demo_writes_a_row_of_samples_that_are_the_toy_images(tmp_path):
    out = tmp_path / "demo.png"
    result = CliRunner().invoke(main, ["demo", "-o", str(out), "--num-images", "4", "--steps", "15"])
    assert result.exit_code == 0, result.output
    row = np.asarray(Image.open(out), dtype=np.float64) / 127.5 - 1
    assert row.shape == (32, 4 * 32, 3)
    toys = toy_images().permute(0, 2, 3, 1).numpy()
    for k in range(4):
        sample = row[:, 32 * k:32 * (k + 1)]
        # The exact denoiser of a finite set samples (a copy of) one of its members.
        assert min(np.abs(sample - toy).mean() for toy in toys) < 0.02


def test_demo_unwritable_output_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "missing" / "x.png"), "--steps", "2"])
    assert result.exit_code != 0
    assert "cannot write" in result.output and "Traceback" not in result.output
