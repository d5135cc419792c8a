"""FD_shapes reference numbers for docs/fidelity.md: the real-vs-real floor by set size, and sanity degradations.

    OMP_NUM_THREADS=1 python scripts/measure_fd_shapes.py [--sizes 100 500 1000 2000] [--split eval]

Every image is a render of its own random spec of `--split`; the two real sets use disjoint specs and seeds.
"""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import replace

import numpy as np
import torch
from PIL import Image, ImageChops, ImageFilter

from openimagen.data.shapes import Placed, draw, layout
from openimagen.data.shapes.world import sample_spec
from openimagen.eval.features import ShapesFeatureExtractor
from openimagen.eval.frechet import extract, feature_statistics, frechet_distance


def real_scenes(count: int, seed: int, split: str) -> list[list[Placed]]:
    """Placed objects of `count` random scenes (draw(...) of them is exactly render(spec, px, seed))."""
    rng = np.random.default_rng(seed)
    return [layout(sample_spec(rng, split=split), np.random.default_rng(seed * 1_000_003 + k)) for k in range(count)]


# Wrong content with clean rendering: what a generator that ignores part of the prompt would produce.
SCENE_CHANGES = {
    "every object black": lambda objects: [replace(o, color="black") for o in objects],
    "every object a circle": lambda objects: [replace(o, shape="circle") for o in objects],
    "only the first object of each scene": lambda objects: objects[:1],
}


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _noisy(image: Image.Image, std: float, rng: np.random.Generator) -> Image.Image:
    array = np.asarray(image, np.float64) / 255 + rng.normal(0, std, (*image.size[::-1], 3))
    return Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8))


def degradations(px: int, rng: np.random.Generator) -> dict:
    return {
        "Gaussian blur sigma 0.7 px": lambda im: im.filter(ImageFilter.GaussianBlur(0.7)),
        "Gaussian blur sigma 1.5 px": lambda im: im.filter(ImageFilter.GaussianBlur(1.5)),
        "Gaussian noise std 0.05": lambda im: _noisy(im, 0.05, rng),
        "Gaussian noise std 0.2": lambda im: _noisy(im, 0.2, rng),
        "JPEG quality 50": lambda im: _jpeg(im, 50),
        "1-px shift": lambda im: ImageChops.offset(im, 1, 0),
        "rendered at half size, upsampled": lambda im: im.resize((px // 2, px // 2), Image.BOX).resize((px, px),
                                                                                                    Image.BILINEAR),
        "colors inverted": lambda im: ImageChops.invert(im),
        "uniform noise images": lambda im: Image.fromarray(rng.integers(0, 256, (px, px, 3), dtype=np.uint8)),
        "blank white images": lambda im: Image.new("RGB", (px, px), "white"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500, 1000, 2000])
    parser.add_argument("--split", default="eval")
    parser.add_argument("--weights", default=None, help="a trained network's folder (default: the shipped one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extractor = ShapesFeatureExtractor.load(args.weights)
    n = max(args.sizes)
    start = time.time()
    for px in (32, 64):
        scenes = real_scenes(n, 1, args.split)
        a, b = [draw(o, px) for o in scenes], [draw(o, px) for o in real_scenes(n, 2, args.split)]
        fa, fb = extract(a, extractor), extract(b, extractor)
        print(f"\n## {px} px (split {args.split})\n\n| images per set | floor: FD(real, real') |\n|---:|---:|")
        for size in args.sizes:
            print(f"| {size} | {frechet_distance(*feature_statistics(fa[:size]), *feature_statistics(fb[:size])):.3f} |")
        m = min(1000, n)
        stats_b = feature_statistics(fb[:m])
        print(f"\n{m} degraded images of set A vs {m} real images of set B:\n\n| set A | FD |\n|---|---:|")
        print(f"| real (the floor) | {frechet_distance(*feature_statistics(fa[:m]), *stats_b):.3f} |")
        for name, degrade in degradations(px, np.random.default_rng(0)).items():
            features = extract([degrade(im) for im in a[:m]], extractor)
            print(f"| {name} | {frechet_distance(*feature_statistics(features), *stats_b):.3f} |")
        for name, change in SCENE_CHANGES.items():
            features = extract([draw(change(o), px) for o in scenes[:m]], extractor)
            print(f"| {name} | {frechet_distance(*feature_statistics(features), *stats_b):.3f} |")
    print(f"\n({time.time() - start:.0f}s)")


if __name__ == "__main__":
    main()
