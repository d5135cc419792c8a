"""One stage of the cascade: its network, its training loss, and the data it trains on (Imagen Sec. 2.4-2.5)."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from openimagen import diffusion as D
from openimagen.cascade.config import StageConfig
from openimagen.cascade.noise_augmentation import noise_augment
from openimagen.cascade.randomness import SampleRandom
from openimagen.nn import build_network, config_from_dict, get_preset

__all__ = ["network_config", "build_stage_network", "downsample", "paired_random_crop", "stage_loss"]


def network_config(stage: StageConfig, text_dim: int, super_resolution: bool, channels: int = 3):
    """The stage's network config with the cascade's facts filled in: text width, channels, low-res conditioning."""
    base = get_preset(stage.network) if isinstance(stage.network, str) else config_from_dict(stage.network)
    return dataclasses.replace(base, text_dim=text_dim, lowres_cond=super_resolution, in_channels=channels,
                               out_channels=channels)


def build_stage_network(stage: StageConfig, text_dim: int, super_resolution: bool, channels: int = 3) -> nn.Module:
    return build_network(network_config(stage, text_dim, super_resolution, channels))


def downsample(images: Tensor, size: int) -> Tensor:
    """Anti-aliased bicubic resize [b, c, H, W] -> [b, c, size, size], clamped to [-1, 1]: the SR stage's input is
    the high-res image's own downsampled copy (Sec. 2.5)."""
    return F.interpolate(images, size=(size, size), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


def paired_random_crop(images: Tensor, lowres: Tensor, crop: int, rnd: SampleRandom) -> tuple[Tensor, Tensor]:
    """Crop `crop` px of each high-res image and the matching crop of its low-res copy (Sec. 2.5: the 1024 stage is
    trained on 256 crops). Offsets are multiples of the scale factor so both crops cover the same region."""
    scale = images.shape[-1] // lowres.shape[-1]
    if images.shape[-1] != scale * lowres.shape[-1] or crop % scale:
        raise ValueError(f"crop {crop} must be a multiple of the SR factor {scale} "
                         f"({lowres.shape[-1]} -> {images.shape[-1]} px)")
    low_crop, positions = crop // scale, lowres.shape[-1] - crop // scale + 1
    ys, xs = rnd.integers(positions), rnd.integers(positions)
    hi = torch.stack([im[:, y * scale:y * scale + crop, x * scale:x * scale + crop] for im, y, x in zip(images, ys, xs)])
    lo = torch.stack([im[:, y:y + low_crop, x:x + low_crop] for im, y, x in zip(lowres, ys, xs)])
    return hi, lo


def stage_loss(network: nn.Module, stage: StageConfig, images: Tensor, text_emb: Tensor, text_mask: Tensor,
               rnd: SampleRandom, lowres: Tensor | None = None, group_size: int | None = None) -> Tensor:
    """Per-sample diffusion loss [b] of one stage. SR stages see `lowres` corrupted at aug_t ~ U(0, 1) per sample
    and are told its log-SNR (noise-conditioning augmentation, Sec. 2.4). All randomness comes from `rnd`;
    `group_size` (the global batch) gives low-discrepancy times when the diffusion config asks for them."""
    config = stage.diffusion_config
    schedule = config.get_schedule()
    t = rnd.stratified(group_size) if config.low_discrepancy and group_size else rnd.uniform()
    noise = rnd.normal(images.shape[1:]).to(images)
    extra = {}
    if lowres is not None:
        aug_level, aug_noise = rnd.uniform(), rnd.normal(lowres.shape[1:]).to(lowres)
        extra["lowres"], extra["aug_log_snr"] = noise_augment(lowres, aug_level.to(lowres), schedule, aug_noise)
    return D.diffusion_loss(lambda z, log_snr: network(z, log_snr, text_emb, text_mask, **extra), images, config,
                            noise=noise, t=t.to(images))
