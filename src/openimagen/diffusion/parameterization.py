"""What the network predicts: eps, x0 or v = alpha eps - sigma x (Salimans & Ho 2022), and conversions between them.

All conversions are exact given z_t = alpha x + sigma eps and lambda_t.
"""

from __future__ import annotations

from torch import Tensor

from openimagen.diffusion.process import alpha_sigma, broadcast_like

PREDICTIONS = ("eps", "x0", "v")


def _check(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}: expected one of {PREDICTIONS}")


def prediction_to_x0(pred: Tensor, z: Tensor, log_snr: Tensor, prediction: str) -> Tensor:
    """x0 = (z - sigma eps) / alpha for eps; x0 itself; x0 = alpha z - sigma v for v."""
    _check(prediction)
    alpha, sigma = alpha_sigma(broadcast_like(log_snr, z))
    if prediction == "eps":
        return (z - sigma * pred) / alpha
    if prediction == "x0":
        return pred
    return alpha * z - sigma * pred


def prediction_to_eps(pred: Tensor, z: Tensor, log_snr: Tensor, prediction: str) -> Tensor:
    """eps itself; eps = (z - alpha x0) / sigma for x0; eps = sigma z + alpha v for v."""
    _check(prediction)
    alpha, sigma = alpha_sigma(broadcast_like(log_snr, z))
    if prediction == "eps":
        return pred
    if prediction == "x0":
        return (z - alpha * pred) / sigma
    return sigma * z + alpha * pred


def x0_to_eps(x0: Tensor, z: Tensor, log_snr: Tensor) -> Tensor:
    """eps = (z - alpha x0) / sigma: re-derives eps after x0 was thresholded."""
    return prediction_to_eps(x0, z, log_snr, "x0")


def training_target(x: Tensor, noise: Tensor, log_snr: Tensor, prediction: str) -> Tensor:
    """The regression target for the chosen parameterization: eps, x, or v = alpha eps - sigma x."""
    _check(prediction)
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x
    alpha, sigma = alpha_sigma(broadcast_like(log_snr, x))
    return alpha * noise - sigma * x
