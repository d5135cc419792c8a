import pytest
import torch

from openimagen import diffusion as D


def test_dynamic_threshold_is_identity_inside_unit_range():
    x0 = torch.rand(3, 3, 8, 8) * 2 - 1
    torch.testing.assert_close(D.dynamic_threshold(x0), x0)
    torch.testing.assert_close(D.static_threshold(x0), x0)


def test_thresholds_map_into_unit_range():
    x0 = torch.randn(4, 3, 8, 8) * 5
    for out in (D.dynamic_threshold(x0), D.static_threshold(x0)):
        assert out.abs().max() <= 1.0 + 1e-6
    assert D.static_threshold(x0).abs().max() == 1.0


def test_dynamic_threshold_is_per_sample():
    x0 = torch.rand(2, 3, 8, 8) * 1.8 - 0.9
    outlier = x0.clone()
    outlier[1] *= 20  # sample 1 saturates; sample 0 must not change
    out = D.dynamic_threshold(outlier)
    torch.testing.assert_close(out[0], x0[0])
    assert not torch.allclose(out[1], outlier[1])


def test_dynamic_threshold_rescales_by_the_percentile():
    # 1000 values 0.001 .. 1.0 scaled by 4: the 99.5% quantile of |x| is 4 * q, so everything divides by it.
    values = torch.linspace(0.001, 1.0, 1000) * 4
    x0 = values.view(1, 1, 1, 1000)
    s = torch.quantile(values, 0.995)
    torch.testing.assert_close(D.dynamic_threshold(x0), (x0.clamp(-s, s) / s))
    assert D.dynamic_threshold(x0, max_value=2.0).max() == 1.0  # s capped at 2, then clip to [-2, 2] / 2
    torch.testing.assert_close(D.dynamic_threshold(x0, max_value=2.0), x0.clamp(-2, 2) / 2)


def test_get_threshold_checks_the_percentile_when_built():
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 1\], got nan"):
        D.get_threshold("dynamic", float("nan"))
