"""SR-stage pairs: anti-aliased downsampling and matching random crops of high- and low-res images."""
import pytest
import torch
import torch.nn.functional as F

from openimagen.data import downsample, paired_random_crop


def test_area_downsample_is_block_averaging():
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(downsample(images, 4, mode="area"), F.avg_pool2d(images, 4))


def test_bicubic_downsample_is_antialiased_and_in_range():
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1   # white noise
    out = downsample(noise, 16)
    aliased = F.interpolate(noise, size=(16, 16), mode="bicubic", align_corners=False)
    assert out.shape == (1, 3, 16, 16)
    assert out.std() < 0.5 * aliased.std()                          # high frequencies are filtered, not folded
    assert torch.allclose(downsample(-torch.ones(1, 3, 16, 16), 5), torch.tensor(-1.0))   # constants stay


def test_paired_crops_cover_the_same_region():
    hi = torch.rand(4, 3, 32, 32) * 2 - 1
    lo = downsample(hi, 8, mode="area")
    hi_crop, lo_crop = paired_random_crop(hi, lo, 16, torch.Generator().manual_seed(0))
    assert hi_crop.shape == (4, 3, 16, 16) and lo_crop.shape == (4, 3, 4, 4)
    assert torch.allclose(downsample(hi_crop, 4, mode="area"), lo_crop, atol=1e-6)
    again = paired_random_crop(hi, lo, 16, torch.Generator().manual_seed(0))
    assert torch.equal(again[0], hi_crop)
    offsets = {tuple((hi[i] == hi_crop[i, 0, 0, 0]).nonzero()[0].tolist()) for i in range(4)}
    assert len(offsets) > 1                                         # per-sample offsets


def test_paired_crop_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="integer upscale"):
        paired_random_crop(torch.zeros(1, 3, 30, 30), torch.zeros(1, 3, 8, 8), 8)
    with pytest.raises(ValueError, match="multiple of the scale"):
        paired_random_crop(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 8, 8), 10)
