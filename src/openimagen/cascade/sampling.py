"""Sampling one stage: classifier-free guided denoiser + sampler, SR stages conditioned on the noise-augmented
low-res image at a fixed aug level (Imagen Sec. 2.2-2.4); an edit keeps a known region (RePaint, or the
conditioning of an inpainting stage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from openimagen import diffusion as D
from openimagen.cascade.config import StageConfig
from openimagen.cascade.noise_augmentation import noise_augment
from openimagen.cascade.stage import inpaint_input, self_conditioned
from openimagen.data import downsample, to_rgb

__all__ = ["KnownRegion", "sample_stage", "to_pil", "from_pil", "center_square"]


@dataclass
class KnownRegion:
    """What an edit keeps at one stage: `image` [b, c, res, res] in [-1, 1] where `mask` [b, 1, res, res] is 0
    (1 = regenerate). `how`: "repaint" replaces the known region at every step (RePaint, with `jump_length` /
    `jump_n_sample` resampling) and conditions an inpainting stage (task "inpaint") on it; "condition" only
    conditions an inpainting stage; "paste" samples as without an edit (the caller pastes the region back)."""

    image: Tensor
    mask: Tensor
    how: Literal["repaint", "condition", "paste"] = "repaint"
    jump_length: int = 1
    jump_n_sample: int = 1
    generator: torch.Generator | None = None        # the known region's noise (None: the sampler's generator)


@torch.no_grad()
def sample_stage(network: nn.Module, stage: StageConfig, text_emb: Tensor, text_mask: Tensor,
                 lowres: Tensor | None, generator: torch.Generator, *, sampler: str, steps: int,
                 guidance_scale: float, threshold: str, percentile: float, aug_level: float,
                 gamma: float = 0.0, eta: float = 0.0, guidance_interval: D.Interval | None = None,
                 channels: int = 3, progress: bool = True,
                 known: KnownRegion | None = None) -> Tensor:
    """Images [b, channels, res, res] in [-1, 1] for text [b, n, dim] (+ low-res [b, c, r, r] for SR stages),
    keeping `known` (not composited: the caller pastes the known region back)."""
    device = next(network.parameters()).device
    text_emb = stage.select_text(text_emb)
    batch, res = text_emb.shape[0], stage.resolution
    schedule = stage.diffusion_config.get_schedule()
    noise = torch.randn(batch, channels, res, res, generator=generator).to(device)
    cond = {"text_emb": text_emb.to(device), "text_mask": text_mask.to(device)}
    uncond = {"text_emb": torch.zeros_like(cond["text_emb"]), "text_mask": torch.zeros_like(cond["text_mask"])}
    if lowres is not None:
        aug_noise = torch.randn(lowres.shape, generator=generator).to(device)
        level = torch.full((batch,), float(aug_level), device=device)
        augmented, aug_log_snr = noise_augment(lowres.to(device), level, schedule, aug_noise)
        for side in (cond, uncond):
            side.update(lowres=augmented, aug_log_snr=aug_log_snr)
    if stage.task == "inpaint":           # without a known region: regenerate everything (an all-ones mask)
        conditioned = known is not None and known.how != "paste"
        image, mask = (known.image, known.mask) if conditioned else (torch.zeros_like(noise),
                                                                        torch.ones_like(noise[:, :1]))
        for side in (cond, uncond):
            side["inpaint"] = inpaint_input(image.to(device), mask.to(device))
    previous = D.PreviousEstimate() if self_conditioned(stage) else None
    denoise = D.guided_denoiser(previous.network(network) if previous else network, cond, uncond, guidance_scale,
                                stage.diffusion_config.prediction, guidance_interval)
    if previous:
        denoise = previous.denoiser(denoise)
    settings = dict(schedule=schedule, sampler=sampler, steps=steps, threshold=threshold, percentile=percentile,
                    gamma=gamma, eta=eta, generator=generator, progress=progress)
    if known is not None and known.how == "repaint":
        out = D.repaint_sample(denoise, noise, known.image.to(device), known.mask.to(device),
                               jump_length=known.jump_length, jump_n_sample=known.jump_n_sample,
                               known_generator=known.generator, **settings)
    else:
        out = D.sample(denoise, noise, **settings)
    return out.clamp(-1, 1)


def to_pil(images: Tensor) -> list[Image.Image]:
    """[b, 3, h, w] in [-1, 1] -> PIL RGB images."""
    array = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a) for a in array]


def center_square(image: Image.Image) -> Image.Image:
    """The largest centred square of `image`."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def from_pil(images: list[Image.Image], size: int) -> Tensor:
    """PIL images (any mode, any size) -> [b, 3, size, size] in [-1, 1]: converted as training data is (`to_rgb`:
    16-bit and float greys scaled, transparency on white), center square crop, anti-aliased resize."""
    tensors = []
    for image in images:
        if not isinstance(image, Image.Image):
            raise TypeError(f"start_image must be PIL images, got {type(image).__name__}")
        image = center_square(to_rgb(image))
        array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
        tensor = torch.from_numpy(array).permute(2, 0, 1)[None]
        tensors.append(downsample(tensor, size) if tensor.shape[-2:] != (size, size) else tensor)
    return torch.cat(tensors)
