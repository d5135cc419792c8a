"""Super-resolution training pairs (Sec. 2.4, App. F): an anti-aliased low-res copy and matching random crops."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def downsample(images: torch.Tensor, size: int, mode: str = "bicubic") -> torch.Tensor:
    """[b, 3, H, W] -> [b, 3, size, size], anti-aliased ("bicubic" with antialias, or "area" = box filter)."""
    if images.ndim != 4:
        raise ValueError(f"downsample expects images [b, c, H, W], got shape {tuple(images.shape)}")
    if mode == "area":
        return F.interpolate(images, size=(size, size), mode="area")
    if mode not in ("bicubic", "bilinear"):
        raise ValueError(f"downsample mode must be 'bicubic', 'bilinear' or 'area', got {mode!r}")
    out = F.interpolate(images, size=(size, size), mode=mode, antialias=True, align_corners=False)
    return out.clamp_(-1.0, 1.0)                                     # bicubic overshoots; keep the [-1, 1] range


def paired_random_crop(hi: torch.Tensor, lo: torch.Tensor, crop_size: int,
                       generator: torch.Generator | Sequence[torch.Generator] | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crop_size crops of `hi` [b, c, H, W] and the matching crops of `lo` [b, c, H/s, W/s].

    Offsets are drawn per sample on the low-res grid, so the high-res crop starts at `s` times the low-res
    one and both cover the same region (the paper trains its 1024 px stage on 256 px crops this way).
    `generator` is one generator for the batch or one per sample (each sample's offsets from its own stream, so
    they do not depend on the batch it is in). Returns (hi [b, c, crop, crop], lo [b, c, crop/s, crop/s]).
    """
    (b, _, h_hi, w_hi), (b_lo, _, h_lo, w_lo) = hi.shape, lo.shape
    if b != b_lo or h_hi % h_lo or w_hi % w_lo or h_hi // h_lo != w_hi // w_lo:
        raise ValueError(f"paired_random_crop: hi {tuple(hi.shape)} must be an integer upscale of lo {tuple(lo.shape)}")
    scale = h_hi // h_lo
    if crop_size % scale or not 0 < crop_size <= min(h_hi, w_hi):
        raise ValueError(f"crop_size={crop_size} must be a multiple of the scale {scale} and fit in {h_hi}x{w_hi}")
    crop_lo = crop_size // scale
    if isinstance(generator, (list, tuple)):
        if len(generator) != b:
            raise ValueError(f"paired_random_crop: {len(generator)} generators for a batch of {b}")
        offsets = [(int(torch.randint(0, h_lo - crop_lo + 1, (1,), generator=g)),
                    int(torch.randint(0, w_lo - crop_lo + 1, (1,), generator=g))) for g in generator]
        tops, lefts = [t for t, _ in offsets], [left for _, left in offsets]
    else:
        tops = torch.randint(0, h_lo - crop_lo + 1, (b,), generator=generator).tolist()
        lefts = torch.randint(0, w_lo - crop_lo + 1, (b,), generator=generator).tolist()
    hi_crops = [hi[i, :, t * scale:(t + crop_lo) * scale, l * scale:(l + crop_lo) * scale] for i, (t, l) in enumerate(zip(tops, lefts))]
    lo_crops = [lo[i, :, t:t + crop_lo, l:l + crop_lo] for i, (t, l) in enumerate(zip(tops, lefts))]
    return torch.stack(hi_crops), torch.stack(lo_crops)
