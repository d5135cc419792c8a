"""Frechet distance between feature statistics (FID: Heusel et al. 2017), for any feature extractor.

The Frechet (2-Wasserstein) distance between N(mu1, S1) and N(mu2, S2) is
    ||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^(1/2).
tr (S1 S2)^(1/2) equals tr (S1^(1/2) S2 S1^(1/2))^(1/2) (same eigenvalues), and the latter is the square root of a
symmetric positive semi-definite matrix: two symmetric eigen-decompositions, no complex arithmetic, and singular
covariances (fewer samples than dimensions) need no regularising offset. Eigenvalues that rounding makes slightly
negative are clipped to zero.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

# A feature extractor: a batch of images (a list of PIL images, an array or a tensor) -> [N, D] features.
Extractor = Callable[[Any], Any]


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], covariance [D, D]) of features [N, D], float64, unbiased covariance (N - 1)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features: expected an [N, D] array with N >= 2 samples, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features: contain NaN or inf; check the images and the feature extractor")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative rounding-noise eigenvalues -> 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr (sigma1 sigma2)^(1/2) for covariance matrices."""
    root1 = _psd_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())


def _check_stats(mu: np.ndarray, sigma: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu, sigma = np.atleast_1d(np.asarray(mu, np.float64)), np.atleast_2d(np.asarray(sigma, np.float64))
    if mu.ndim != 1 or sigma.shape != (mu.size, mu.size):
        raise ValueError(f"{name}: mean must be [D] and covariance [D, D], got {mu.shape} and {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"{name}: statistics contain NaN or inf")
    return mu, sigma


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2) (>= 0)."""
    mu1, sigma1 = _check_stats(mu1, sigma1, "first distribution")
    mu2, sigma2 = _check_stats(mu2, sigma2, "second distribution")
    if mu1.shape != mu2.shape:
        raise ValueError(f"feature dimensions differ: {mu1.size} vs {mu2.size}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)


def extract(images: Sequence[Any] | Any, extractor: Extractor, batch_size: int = 256) -> np.ndarray:
    """Features [N, D] (float64) of images (anything sliceable: a list, an array, a tensor), in batches."""
    if len(images) == 0:
        raise ValueError("images: empty; need at least 2 images for feature statistics")
    parts = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        out = extractor(batch)
        out = np.asarray(out.detach().cpu() if hasattr(out, "detach") else out, dtype=np.float64)
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise ValueError(f"extractor {extractor!r}: returned shape {out.shape} for {len(batch)} images; "
                             "a feature extractor must return [N, D] features")
        parts.append(out)
    return np.concatenate(parts)


def fd(images_a: Sequence[Any] | Any, images_b: Sequence[Any] | Any, extractor: Extractor,
       batch_size: int = 256) -> float:
    """Frechet distance between the feature statistics of two image sets under `extractor`.

    `extractor` is any callable batch -> [N, D] features (numpy or torch): the shapes-world CNN
    (openimagen.eval.features) gives FD_shapes, an Inception network would give FID.
    """
    stats_a = feature_statistics(extract(images_a, extractor, batch_size))
    stats_b = feature_statistics(extract(images_b, extractor, batch_size))
    return frechet_distance(*stats_a, *stats_b)
