"""Image preprocessing: decode any file, any PIL mode -> RGB, resize + crop, tensor in [-1, 1].

Imagen (Sec. 4.1, App. F) trains each stage on images resized to its resolution; captions are untouched here.
"""
from __future__ import annotations

import io
import logging
import os
import random
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

from .skips import SkipSample

logger = logging.getLogger(__name__)
_LARGE_IMAGES_NOTED: set[str] = set()
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, TypeError)


def open_image(source: bytes | str | os.PathLike | Image.Image, draft_size: int | None = None) -> Image.Image:
    """Open and fully decode an image (bytes, path or PIL image); raises SkipSample if unreadable.

    `draft_size` lets JPEG decode at a reduced scale that stays >= draft_size on each side (fast).
    The original size is kept in `image.info["original_size"]` for the minimum-size filter.
    """
    if isinstance(source, Image.Image):
        source.info.setdefault("original_size", source.size)
        return source
    try:
        if not (source if isinstance(source, bytes) else os.path.getsize(source)):
            raise SkipSample("unreadable", "zero-byte file")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        for warning in caught:
            if issubclass(warning.category, Image.DecompressionBombWarning):
                _note_large_image("an image in a shard" if isinstance(source, bytes) else str(source), image.size)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        original_size = image.size
        if draft_size and image.format == "JPEG":
            image.draft(image.mode, (draft_size, draft_size))
        image.load()                                   # forces a full decode: truncated files fail here
    except SkipSample:
        raise
    except FileNotFoundError as exn:
        raise SkipSample("missing", "no such file") from exn
    except IsADirectoryError as exn:
        raise SkipSample("unreadable", "a folder, not an image file") from exn
    except Image.DecompressionBombError as exn:
        raise SkipSample("unreadable", _too_many_pixels()) from exn
    except Image.UnidentifiedImageError as exn:
        raise SkipSample("unreadable", "not an image file (its format is not recognised)") from exn
    except _DECODE_ERRORS as exn:
        raise SkipSample("unreadable", f"{type(exn).__name__}: {exn}") from exn
    image.info["original_size"] = original_size
    return image


def _too_many_pixels() -> str:
    """Why an image over twice Pillow's pixel limit is skipped, and how to use it anyway."""
    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return (f"over {limit:,} pixels (twice PIL.Image.MAX_IMAGE_PIXELS), refused as a possible decompression bomb; "
            "raise PIL.Image.MAX_IMAGE_PIXELS to use it")


def _note_large_image(name: str, size: tuple[int, int]) -> None:
    """One log line per file (instead of Pillow's DecompressionBombWarning) for an image over Pillow's pixel limit
    (`PIL.Image.MAX_IMAGE_PIXELS`, 89.5 MP); it is still decoded. Over twice the limit it is skipped (unreadable)."""
    if name in _LARGE_IMAGES_NOTED:
        return
    _LARGE_IMAGES_NOTED.add(name)
    limit = Image.MAX_IMAGE_PIXELS or 0
    logger.warning(f"{name}: {size[0]}x{size[1]} pixels is over the {limit / 1e6:.1f} MP limit of "
                   f"PIL.Image.MAX_IMAGE_PIXELS; decoding it anyway (over {2 * limit / 1e6:.1f} MP images are skipped)")


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phone photos); a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:                                              # noqa: BLE001 - EXIF is optional metadata
        return image


def _composite_on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_bit_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit (I;16*), 32-bit int (I) and float (F) grayscale -> 8-bit RGB, scaled rather than clipped."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        peak = 1.0 if values.max(initial=0.0) <= 1.0 else 255.0
    elif image.mode.startswith("I;16"):
        peak = 65535.0
    else:                                              # "I": 16-bit PNGs open as I in some Pillow versions
        peak = 65535.0 if values.max(initial=0.0) > 255 else 255.0
    gray = np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB: transparency (alpha, or a transparent palette index or colour) composited on white,
    CMYK/palette/gray converted, 16-bit scaled."""
    mode = image.mode
    try:
        if mode in ("P", "RGB", "L") and "transparency" in image.info or mode in ("RGBA", "LA", "PA", "RGBa", "La"):
            return _composite_on_white(image)
        if mode == "RGB":
            return image
        if mode in ("I", "F") or mode.startswith("I;16"):
            return _high_bit_depth_to_rgb(image)
        return image.convert("RGB")
    except (ValueError, OSError) as exn:
        raise SkipSample("unreadable", f"cannot convert mode {mode} to RGB: {exn}") from exn


def crop_box(width: int, height: int, crop: int, rng: random.Random | None) -> tuple[int, int, int, int]:
    """A crop x crop box inside width x height: centered, or uniformly random if `rng` is given."""
    if rng is None:
        left, top = (width - crop) // 2, (height - crop) // 2
    else:
        left, top = rng.randint(0, width - crop), rng.randint(0, height - crop)
    return left, top, left + crop, top + crop


def resize_and_crop(image: Image.Image, resolution: int, rng: random.Random | None = None) -> Image.Image:
    """Resize the shorter side to `resolution` (antialiased bicubic), then a center (or random) square crop.

    Only the cropped square is resampled (`box`): a 1 x 1,000,000 px strip must not become a 64 x 64,000,000 image."""
    width, height = image.size
    scale = resolution / min(width, height)
    new_width, new_height = max(resolution, round(width * scale)), max(resolution, round(height * scale))
    left, top, right, bottom = crop_box(new_width, new_height, resolution, rng)
    if (new_width, new_height) == image.size:
        return image if image.size == (resolution, resolution) else image.crop((left, top, right, bottom))
    x_scale, y_scale = width / new_width, height / new_height              # source pixels per resized pixel
    box = (left * x_scale, top * y_scale, min(width, right * x_scale), min(height, bottom * y_scale))
    return image.resize((resolution, resolution), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor [3, H, W] in [-1, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


@dataclass(frozen=True)
class Preprocess:
    """Decode -> RGB -> resize + crop -> tensor, with an optional minimum-size filter."""

    resolution: int
    random_crop: bool = False
    min_size: int = 0          # skip images whose shorter original side is below this

    def __post_init__(self):
        if not isinstance(self.resolution, int) or self.resolution < 1:
            raise ValueError(f"Preprocess.resolution must be a positive int, got {self.resolution!r}")
        if not isinstance(self.min_size, int) or self.min_size < 0:
            raise ValueError(f"Preprocess.min_size must be an int >= 0, got {self.min_size!r}")

    def __call__(self, source: bytes | str | os.PathLike | Image.Image, seed: str = "") -> torch.Tensor:
        """One sample -> [3, resolution, resolution] tensor; raises SkipSample. `seed` fixes the random crop."""
        image = open_image(source, draft_size=self.resolution)
        width, height = image.info.get("original_size", image.size)
        if min(width, height) < self.min_size:
            raise SkipSample("too_small", f"{width}x{height} < min_size {self.min_size}")
        rng = random.Random(seed) if self.random_crop else None
        return image_to_tensor(resize_and_crop(to_rgb(upright(image)), self.resolution, rng))
