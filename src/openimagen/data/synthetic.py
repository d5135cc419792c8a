"""Synthetic image-caption data on disk (folder and WebDataset shards), for tests and loader benchmarks."""
from __future__ import annotations

import io
import json
import os

import numpy as np
from PIL import Image
from webdataset import TarWriter


def synthetic_image(index: int, size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A deterministic RGB image whose mean color encodes `index` (smooth gradient + noise, JPEG-friendly)."""
    rng = np.random.default_rng(index)
    width, height = size
    base = np.array([index * 37 % 256, index * 91 % 256, index * 53 % 256], dtype=np.float64)
    ramp = np.linspace(-20, 20, width)[None, :, None]
    pixels = base + ramp + rng.normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=90) if fmt == "JPEG" else image.save(buffer, format=fmt)
    return buffer.getvalue()


def write_folder(root: str, count: int, size: tuple[int, int] = (48, 32)) -> list[str]:
    """`count` JPEGs `root/{i:05d}.jpg` with captions `root/{i:05d}.txt` = "image {i}"; returns the keys."""
    os.makedirs(root, exist_ok=True)
    keys = []
    for i in range(count):
        key = f"{i:05d}"
        synthetic_image(i, size).save(os.path.join(root, key + ".jpg"), quality=90)
        with open(os.path.join(root, key + ".txt"), "w", encoding="utf-8") as f:
            f.write(f"image {i}")
        keys.append(key)
    return keys


def write_shards(root: str, num_shards: int, per_shard: int, size: tuple[int, int] = (48, 32),
                 caption_in_json: bool = False) -> list[str]:
    """img2dataset-style shards `root/{s:05d}.tar` holding `{key}.jpg` + `{key}.txt` (or `.json`); returns paths."""
    os.makedirs(root, exist_ok=True)
    paths = []
    for s in range(num_shards):
        path = os.path.join(root, f"{s:05d}.tar")
        with TarWriter(path) as sink:
            for j in range(per_shard):
                i = s * per_shard + j
                sample = {"__key__": f"{s:05d}{j:04d}", "jpg": encode(synthetic_image(i, size))}
                if caption_in_json:
                    sample["json"] = {"caption": f"image {i}", "url": f"http://example.com/{i}.jpg"}
                else:
                    sample["txt"] = f"image {i}"
                sink.write(sample)
        paths.append(path)
    return paths


SHAPES_PROMPTS = [
    {"prompt": "a red circle", "category": "colors", "objects": [{"shape": "circle", "color": "red"}]},
    {"prompt": "two blue squares", "category": "counting", "objects": [{"shape": "square", "color": "blue", "count": 2}]},
]


def write_shapes_prompts(path: str | os.PathLike, specs: list[dict] | None = None) -> str:
    """A shapes-world prompts JSONL file (default: `SHAPES_PROMPTS`); returns its path as a string."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(spec) + "\n" for spec in (SHAPES_PROMPTS if specs is None else specs))
    return str(path)
