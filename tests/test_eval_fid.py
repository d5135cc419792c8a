"""`openimagen eval fid`: the Frechet distance against scipy, FID(A, A) = 0 < FID(A, B) through the command with a
tiny random TorchScript network in Inception's place, clean-fid's resize, and the missing-weights error."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import linalg

from openimagen.eval import features, inception
from openimagen.eval.frechet import feature_statistics, frechet_distance
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli


class TinyInception(torch.nn.Module):
    """Inception's interface (a `layers` submodule: [N, 3, 299, 299] in [-1, 1] -> pooled features), random."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layers = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),
                                          torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())

    def forward(self, x):
        return self.layers(x)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / inception.FILE_NAME
    with pytest.warns(DeprecationWarning):                 # TorchScript: deprecated, yet the reference format
        torch.jit.script(TinyInception()).save(str(path))
    return path


def image_folder(folder, seed, count=6, kind="noise"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(count):
        if kind == "noise":
            pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        else:                                                 # smooth colour fields: other statistics than noise
            pixels = np.broadcast_to(rng.integers(0, 256, (1, 1, 3), dtype=np.uint8), (24, 24, 3))
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"{k:03d}.png")
    return folder


def test_frechet_distance_of_known_arrays_matches_a_direct_scipy_computation():
    a = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 2.0, 0.0], [0.5, 1.5, 1.0], [3.0, 0.0, 2.0]])
    b = np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 0.0], [0.0, 3.0, 1.0], [1.0, 2.0, 2.0], [2.5, 1.0, 0.5]])
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    direct = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(*feature_statistics(a), *feature_statistics(b)) == pytest.approx(direct, rel=1e-9)


def test_fid_of_a_folder_with_itself_is_zero_and_with_another_is_positive(tmp_path, weights):
    a, b = image_folder(tmp_path / "a", 0), image_folder(tmp_path / "b", 1, kind="flat")
    same = cli("eval", "fid", a, a, "--weights", weights, "--out", tmp_path / "same.json")
    other = cli("eval", "fid", a, b, "--weights", weights, "--out", tmp_path / "other.json")
    assert same.exit_code == 0 and other.exit_code == 0, same.output + other.output
    assert json.loads((tmp_path / "same.json").read_text())["fid"] == pytest.approx(0, abs=1e-6)
    record = json.loads((tmp_path / "other.json").read_text())
    assert record["fid"] > 1e-3 and record["num_real"] == record["num_fake"] == 6
    assert other.stdout.startswith("FID ")


def test_clean_resize_gives_299_float_pixels_and_keeps_a_flat_image_flat():
    resized = inception.clean_resize(Image.new("RGB", (40, 30), (10, 200, 255)))
    assert resized.shape == (299, 299, 3) and resized.dtype == np.float32
    assert np.allclose(resized, [10, 200, 255], atol=1e-3)


def test_missing_inception_weights_is_one_line_naming_the_file_and_the_option(tmp_path, monkeypatch):
    monkeypatch.setattr(inception, "candidate_paths", lambda: [tmp_path / "nowhere" / inception.FILE_NAME])
    folder = image_folder(tmp_path / "a", 0, count=2)
    result = cli("eval", "fid", folder, folder)
    assert_one_line_error(result, inception.FILE_NAME)
    assert "--weights" in result.stderr and "--features shapes" in result.stderr


def test_shapes_features_run_offline_with_the_shipped_network(tmp_path):
    a, b = image_folder(tmp_path / "a", 0, count=4), image_folder(tmp_path / "b", 1, count=4, kind="flat")
    result = cli("eval", "fid", a, b, "--features", "shapes", "--out", tmp_path / "fd.json")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("FD_shapes ") and json.loads((tmp_path / "fd.json").read_text())["fid"] > 0


def test_an_unreadable_image_is_named_in_one_line(tmp_path, weights):
    folder = image_folder(tmp_path / "a", 0, count=2)
    (folder / "broken.png").write_bytes(b"not a png")
    assert_one_line_error(cli("eval", "fid", folder, folder, "--weights", weights), "broken.png")


def damaged_feature_folder(tmp_path, damage):
    folder = tmp_path / "features"
    folder.mkdir()
    for path in features.WEIGHTS_DIR.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    damage(folder)
    return folder


def truncate_weights(folder):
    path = folder / features.WEIGHTS_FILE
    path.write_bytes(path.read_bytes()[:1000])


@pytest.mark.parametrize("damage, phrase", [
    (truncate_weights, "features/model.safetensors is damaged"),
    (lambda folder: (folder / features.WEIGHTS_FILE).unlink(), "features has no model.safetensors, so it is not"),
    (lambda folder: (folder / features.CONFIG_FILE).write_text("{"), "features/config.json is damaged (not JSON"),
])
def test_damaged_shapes_weights_are_named_not_blamed_on_the_install(tmp_path, damage, phrase):
    folder = image_folder(tmp_path / "a", 0, count=2)
    result = cli("eval", "fid", folder, folder, "--features", "shapes", "--weights",
                 damaged_feature_folder(tmp_path, damage))
    assert_one_line_error(result, phrase)
    assert "reinstall" not in result.stderr


def test_a_damaged_inception_file_or_a_folder_without_it_is_named(tmp_path):
    folder = image_folder(tmp_path / "a", 0, count=2)
    (tmp_path / "broken.pt").write_bytes(b"\0" * 5000)
    assert_one_line_error(cli("eval", "fid", folder, folder, "--weights", tmp_path / "broken.pt"),
                          "broken.pt: not a TorchScript file, or a damaged one")
    assert_one_line_error(cli("eval", "fid", folder, folder, "--weights", tmp_path / "a"),
                          f"--weights {tmp_path / 'a'} is a folder without {inception.FILE_NAME}")
