import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter
from scipy import linalg

from openimagen.data.shapes.world import sample_spec
from openimagen.eval.features import (WEIGHTS_FILE, ShapesFeatureExtractor, default_extractor, fd_shapes,
                                      fd_shapes_report, real_renders)
from openimagen.eval.frechet import fd, feature_statistics, frechet_distance


def random_cov(rng, dim, rank=None):
    a = rng.normal(size=(dim, rank or dim))
    return a @ a.T / dim


def scipy_reference(mu1, s1, mu2, s2):
    """The textbook formula with a general (non-symmetric) matrix square root."""
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_diagonal_gaussians_match_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    v1, v2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)
    # one dimension: (m1 - m2)^2 + (std1 - std2)^2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[9.0]])) == \
        pytest.approx(4 + 1)


def test_full_covariances_match_scipy_sqrtm_and_are_symmetric():
    rng = np.random.default_rng(1)
    mu1, mu2, s1, s2 = rng.normal(size=8), rng.normal(size=8), random_cov(rng, 8), random_cov(rng, 8)
    value = frechet_distance(mu1, s1, mu2, s2)
    assert value == pytest.approx(scipy_reference(mu1, s1, mu2, s2), rel=1e-8)
    assert value == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-10)


def test_zero_for_identical_statistics_even_when_singular():
    rng = np.random.default_rng(2)
    mu, sigma = feature_statistics(rng.normal(size=(10, 32)))      # 10 samples in 32 dims: rank 9
    assert np.linalg.matrix_rank(sigma) < 32
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-9)
    other = random_cov(rng, 32, rank=3)
    assert frechet_distance(mu, sigma, mu, other) == pytest.approx(scipy_reference(mu, sigma, mu, other), rel=1e-6)


def test_sample_estimates_converge_to_the_population_distance():
    rng = np.random.default_rng(3)
    mu1, mu2, s1, s2 = np.zeros(4), np.full(4, 0.5), random_cov(rng, 4), random_cov(rng, 4)
    truth = frechet_distance(mu1, s1, mu2, s2)
    errors = []
    for n in (100, 10_000):
        a = rng.multivariate_normal(mu1, s1, size=n)
        b = rng.multivariate_normal(mu2, s2, size=n)
        errors.append(abs(frechet_distance(*feature_statistics(a), *feature_statistics(b)) - truth))
    assert errors[1] < 0.03 * truth and errors[1] < errors[0]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="N >= 2"):
        feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_fd_accepts_any_extractor_and_batches_consistently():
    rng = np.random.default_rng(4)
    images_a = [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(20)]
    images_b = [Image.fromarray(rng.integers(0, 128, (8, 8, 3), dtype=np.uint8)) for _ in range(20)]

    def mean_color(batch):   # a toy extractor: [N, 3] mean RGB
        return torch.tensor(np.stack([np.asarray(im, np.float64).mean((0, 1)) for im in batch]))

    expected = frechet_distance(*feature_statistics(mean_color(images_a).numpy()),
                                *feature_statistics(mean_color(images_b).numpy()))
    assert fd(images_a, images_b, mean_color, batch_size=3) == pytest.approx(expected, rel=1e-12)
    assert fd(images_a, images_b, mean_color) > 100           # darker set: means differ by ~64 per channel
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        fd(images_a, images_b, lambda batch: np.zeros(len(batch)))


@pytest.fixture(scope="module")
def renders():
    rng = np.random.default_rng(5)
    specs = [sample_spec(rng, split="eval") for _ in range(40)]
    return specs, real_renders(specs, 32, seed=0), real_renders(specs, 32, seed=1)


def test_shipped_extractor_gives_finite_features_for_pil_and_tensors(renders):
    _, real, _ = renders
    extractor = ShapesFeatureExtractor.load()
    features = extractor(real[:4])
    assert features.shape == (4, extractor.feature_dim) and np.isfinite(features).all()
    assert features.std(0).max() > 0                        # not a constant map
    tensor = torch.from_numpy(np.stack([np.asarray(im) for im in real[:4]])).permute(0, 3, 1, 2) / 127.5 - 1
    np.testing.assert_allclose(extractor(tensor), features, atol=1e-5)   # channels-last tensor
    assert extractor([real[0].resize((64, 64), Image.BILINEAR)]).shape == (1, extractor.feature_dim)


def test_real_vs_real_is_far_below_real_vs_noise(renders):
    specs, real, other = renders
    rng = np.random.default_rng(6)
    noise = [Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in real]
    blurred = [image.filter(ImageFilter.GaussianBlur(1.5)) for image in other]
    floor = fd_shapes(other, real)      # 40 images in 128 dimensions: the floor is mostly estimation noise
    assert fd_shapes(noise, real) > 5 * floor
    assert fd_shapes(blurred, real) > 1.5 * floor
    report = fd_shapes_report(noise, specs, extractor=default_extractor())
    assert report.floor < report.fd / 5 and report.num_images == 40 and report.size == 32
    as_tensor = torch.from_numpy(np.stack([np.asarray(im) for im in noise])).permute(0, 3, 1, 2) / 127.5 - 1
    assert fd_shapes_report(as_tensor, specs).fd == pytest.approx(report.fd, rel=1e-6)
    with pytest.raises(ValueError, match="40 images for 40 specs x 2"):
        fd_shapes_report(noise, specs, images_per_spec=2)


def test_missing_weights_error_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path} has no config.json or {WEIGHTS_FILE}"):
        ShapesFeatureExtractor.load(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=WEIGHTS_FILE):
        ShapesFeatureExtractor.load(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"")
    with pytest.raises(ValueError, match="no 'model' section"):
        ShapesFeatureExtractor.load(tmp_path)
