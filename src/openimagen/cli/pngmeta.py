"""PNGs that carry their own recipe: the sampling record as JSON in an iTXt chunk (key "openimagen"), the prompt
as "Description" for image viewers. Written atomically: a temp file in the same folder, then os.replace."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from openimagen import __version__
from openimagen.files import save_image_atomic

__all__ = ["KEY", "save_png", "read_record"]

KEY = "openimagen"


def save_png(image: Image.Image, path: str | Path, record: dict) -> Path:
    """Write `image` to `path` with `record` (JSON-serialisable) in its text metadata; never leaves a partial file."""
    path = Path(path)
    info = PngInfo()
    info.add_itxt(KEY, json.dumps(record, sort_keys=True, allow_nan=False))
    if isinstance(record.get("prompt"), str):
        info.add_itxt("Description", record["prompt"])
    info.add_text("Software", f"openimagen {__version__}")
    save_image_atomic(image, path, pnginfo=info)
    return path


def read_record(path: str | Path) -> dict:
    """The record `save_png` stored in `path`; ValueError naming the file if it has none (not a PNG, truncated, no
    record)."""
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise ValueError(f"{path} is not a PNG written by `openimagen sample` (it is {image.format})")
            image.load()                               # text chunks after the image data are read by load()
            text = getattr(image, "text", {}).get(KEY)
    except UnidentifiedImageError as error:
        raise ValueError(f"{path} is not a PNG written by `openimagen sample` (not an image at all)") from error
    except (OSError, SyntaxError) as error:            # Pillow: "image file is truncated", broken chunks
        raise ValueError(f"{path} is truncated or damaged ({error}); copy it again") from error
    if text is None:
        raise ValueError(f"{path} has no openimagen metadata; only PNGs written by `openimagen sample` have it")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the openimagen metadata is not valid JSON ({error})") from error
    if not isinstance(record, dict):
        raise ValueError(f"{path}: the openimagen metadata is not a JSON object")
    return record
