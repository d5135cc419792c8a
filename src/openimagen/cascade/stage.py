"""One stage of the cascade: its network, its training loss, and the data it trains on (Imagen Sec. 2.4-2.5)."""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from openimagen import diffusion as D
from openimagen.cascade.config import StageConfig
from openimagen.cascade.noise_augmentation import noise_augment
from openimagen.cascade.randomness import SampleRandom
from openimagen.nn import build_network, config_from_dict, get_preset
from openimagen.config import ConfigError

__all__ = ["network_config", "build_stage_network", "stage_loss", "inpaint_input", "self_conditioned"]


def network_config(stage: StageConfig, text_dim: int, super_resolution: bool, channels: int = 3):
    """The stage's network config with the cascade's facts filled in: text width (of the embedder's `text_dim`, the
    part the stage reads), channels, low-res conditioning."""
    return dataclasses.replace(_named_network(stage), text_dim=stage.text_dim(text_dim), lowres_cond=super_resolution, in_channels=channels,
                               out_channels=channels, inpaint_cond=stage.task == "inpaint")


def _named_network(stage: StageConfig):
    """The network config the stage names: a preset, or a table of fields."""
    return get_preset(stage.network) if isinstance(stage.network, str) else config_from_dict(stage.network)


def self_conditioned(stage: StageConfig) -> bool:
    """Whether the stage's network takes its own previous x0 estimate as input (`self_condition`)."""
    return _named_network(stage).self_condition


def build_stage_network(stage: StageConfig, text_dim: int, super_resolution: bool, channels: int = 3) -> nn.Module:
    """The stage's network; its resolution and training crop must be divisible by the network's downsampling."""
    config = network_config(stage, text_dim, super_resolution, channels)
    factor = config.downsample_factor
    for name in ("resolution", "crop_size"):
        size = getattr(stage, name)
        if size is not None and size % factor:
            raise ConfigError(f"{name}={size} is not divisible by {factor}, the downsampling of network "
                              f"{stage.network if isinstance(stage.network, str) else stage.network.get('kind')!r}; "
                              f"pick a multiple of {factor} or a network with fewer levels")
    return build_network(config)


def inpaint_input(known: Tensor, mask: Tensor) -> Tensor:
    """The conditioning of an inpainting network [b, c + 1, h, w]: the known image with the region to regenerate
    zeroed (mask [b, 1, h, w], 1 = regenerate), then the mask. An all-ones mask asks for a whole new image."""
    mask = mask.to(known.dtype).expand(known.shape[0], 1, *known.shape[2:])
    return torch.cat([known * (1.0 - mask), mask], dim=1)


def stage_loss(network: nn.Module, stage: StageConfig, images: Tensor, text_emb: Tensor, text_mask: Tensor,
               rnd: SampleRandom, lowres: Tensor | None = None, group_size: int | None = None,
               inpaint_mask: Tensor | None = None) -> Tensor:
    """Per-sample diffusion loss [b] of one stage. SR stages see `lowres` corrupted at aug_t ~ U(lo, hi) per sample
    (`stage.train_aug_range`, Imagen: U(0, 1)) and are told its log-SNR (noise-conditioning augmentation, Sec. 2.4).
    Inpainting stages (`task = "inpaint"`) see the image outside `inpaint_mask` [b, 1, h, w] (1 = regenerate) and
    the mask. All randomness comes from `rnd`; `group_size` (the global batch) gives low-discrepancy times when the
    diffusion config asks for them. `text_emb` is the embedder's; the stage reads its own hidden states of it.
    Self-conditioned networks (`self_condition`) see their own first-pass x0 on a random half of the samples."""
    config = stage.diffusion_config
    text_emb = stage.select_text(text_emb)
    schedule = config.get_schedule()
    t = rnd.stratified(group_size) if config.low_discrepancy and group_size else rnd.uniform()
    noise = rnd.normal(images.shape[1:]).to(images)
    extra = {}
    if lowres is not None:
        lo, hi = stage.train_aug_range
        aug_level, aug_noise = lo + (hi - lo) * rnd.uniform(), rnd.normal(lowres.shape[1:]).to(lowres)
        extra["lowres"], extra["aug_log_snr"] = noise_augment(lowres, aug_level.to(lowres), schedule, aug_noise)
    if (stage.task == "inpaint") != (inpaint_mask is not None):
        raise ValueError(f"inpaint_mask is needed exactly when the stage's task is 'inpaint' (it is {stage.task!r})")
    if inpaint_mask is not None:
        extra["inpaint"] = inpaint_input(images, inpaint_mask.to(images))
    if not self_conditioned(stage):
        return D.diffusion_loss(lambda z, log_snr: network(z, log_snr, text_emb, text_mask, **extra), images, config,
                                noise=noise, t=t.to(images))
    use = rnd.uniform() < 0.5               # the half of the samples that see a first-pass estimate

    def rows_of(z, log_snr, rows, self_cond):
        picked = {key: value[rows] for key, value in extra.items()}
        return network(z, log_snr, text_emb[rows], text_mask[rows], self_cond=self_cond, **picked)

    def model_fn(z, log_snr):
        estimate = D.first_pass_estimate(rows_of, z, log_snr, use.to(z.device), config.prediction)
        return network(z, log_snr, text_emb, text_mask, self_cond=estimate, **extra)

    return D.diffusion_loss(model_fn, images, config, noise=noise, t=t.to(images))
