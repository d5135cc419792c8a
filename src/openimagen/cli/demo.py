"""`openimagen demo`: sample the exact denoiser of a tiny image set, a no-training check of the diffusion core."""

from __future__ import annotations

import os

import click
import numpy as np
import torch
from PIL import Image

from openimagen import diffusion as D
from openimagen.cli import UserError
from openimagen.cli.command import Command
from openimagen.cli.checks import check_seed, sampler_option
from openimagen.files import save_image_atomic


def toy_images(size: int = 32) -> torch.Tensor:
    """Eight images [8, 3, size, size] in [-1, 1]: discs and squares of four colors on white."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    colors = [(0.9, 0.1, 0.1), (0.1, 0.6, 0.1), (0.1, 0.2, 0.9), (0.95, 0.8, 0.1)]
    images = []
    for color in colors:
        for disc in (True, False):
            inside = ((xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.09) if disc else ((abs(xx - 0.5) < 0.27) & (abs(yy - 0.5) < 0.27))
            image = np.ones((3, size, size))
            image[:, inside] = np.array(color)[:, None]
            images.append(image)
    return torch.tensor(np.stack(images), dtype=torch.float32) * 2 - 1


def empirical_denoiser(data: torch.Tensor) -> D.Denoiser:
    """The optimal denoiser of the empirical distribution of `data`: E[x | z] = sum_i softmax_i(-|z - a x_i|^2 / 2 s^2) x_i."""
    flat = data.flatten(1)

    def denoise(z: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        alpha, sigma = D.alpha_sigma(log_snr[:, None])
        distances = (
            (z.flatten(1)[:, None, :] - alpha[:, :, None] * flat[None]) ** 2).sum(-1)  # [b, n]
        weights = torch.softmax(-distances / (2 * sigma**2), dim=1)
        return (weights @ flat).view_as(z)

    return denoise


def to_pil_grid(images: torch.Tensor) -> Image.Image:
    """[b, 3, h, w] in [-1, 1] -> one PIL row."""
    row = torch.cat(list(images), dim=2)
    return Image.fromarray(((row.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy())


@click.command(cls=Command)
@click.option("-o", "--output", default="demo.png", show_default=True,
              help="Image to write; its suffix picks the format (.png, .jpg, ...).")
@click.option("--num-images", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--steps", default=20, show_default=True, type=click.IntRange(1, 1000))
@sampler_option("dpmpp_2m")
@click.option("--seed", default=0, show_default=True)
def demo(output: str, num_images: int, steps: int, sampler: str, seed: int) -> None:
    """Sample the exact denoiser of eight toy images (no network, no training) and write a PNG row.

    Example: openimagen demo -o demo.png --steps 20
    """
    check_seed(seed)
    image_format = Image.registered_extensions().get(os.path.splitext(output)[1].lower())
    if image_format is None:
        raise UserError(f"-o {output}: unknown image type {os.path.splitext(output)[1]!r}; use .png or .jpg")
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(num_images, 3, 32, 32, generator=generator)
    images = D.sample(empirical_denoiser(toy_images()), noise, schedule=D.get_schedule("cosine"), sampler=sampler,
                      steps=steps, threshold="dynamic", generator=generator, progress=True)
    try:
        save_image_atomic(to_pil_grid(images), output, format=image_format)    # a reader never sees half a PNG
    except OSError as error:
        raise UserError(f"cannot write {output}: {error.strerror}; choose a writable -o path") from None
    click.echo(f"wrote {output} ({num_images} samples, {sampler}, {steps} steps)")
