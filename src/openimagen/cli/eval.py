"""`openimagen eval fid` and `openimagen eval clip-score`: the paper's metrics on any folders of images."""

from __future__ import annotations

import json
import sys

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command

EXAMPLES_FID = """
\b
Examples:
  openimagen eval fid coco-val/ samples/ --weights inception-2015-12-05.pt --out fid.json
  openimagen eval fid real/ fake/ --features shapes          # shapes world, offline: FD_shapes
"""
EXAMPLES_CLIP = """
\b
Examples:
  openimagen eval clip-score samples/ captions.jsonl          # manifest with path, caption
  openimagen eval clip-score samples/                         # same-stem .txt captions, or a drawbench run
  openimagen eval clip-score samples/ --weights ./clip-vit-l14 --out clip.json
"""


@click.group("eval")
def eval_group() -> None:
    """Metrics on folders of images: FID and CLIP score (Imagen Sec. 4.1)."""


def device_name() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def write_json(out: str | None, record: dict) -> None:
    if out is None:
        return
    from openimagen.files import write_text_atomic

    try:
        write_text_atomic(out, json.dumps(record, indent=2) + "\n")
    except OSError as error:
        raise UserError(f"--out {out}: cannot write ({error.strerror or error})") from error


def load_extractor(features: str, weights: str | None):
    if features == "shapes":
        from openimagen.eval.features import ShapesFeatureExtractor

        try:
            return ShapesFeatureExtractor.load(weights)
        except (OSError, ValueError) as error:
            raise UserError(str(error)) from error
    from openimagen.eval.inception import InceptionFeatureExtractor

    try:
        return InceptionFeatureExtractor.load(weights, device_name())
    except (OSError, ValueError) as error:
        raise UserError(str(error)) from error


@eval_group.command("fid", epilog=EXAMPLES_FID, cls=Command)
@click.argument("real", type=click.Path())
@click.argument("fake", type=click.Path())
@click.option("--features", type=click.Choice(["inception", "shapes"]), default="inception", show_default=True,
              help="inception: FID (clean-fid protocol); shapes: FD_shapes with the shipped shapes-world network.")
@click.option("--weights", default=None, metavar="PATH",
              help="inception-2015-12-05.pt (or the shapes network's folder).  [default: the cache]")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default=None, metavar="FILE", help='Write {"fid": ...} and the details as JSON.')
def fid(real, fake, features, weights, batch_size, out) -> None:
    """Frechet distance between the feature statistics of the images in REAL and in FAKE (folders, recursive)."""
    from openimagen.eval.frechet import feature_statistics, frechet_distance
    from openimagen.eval.image_sets import ImageSetError, batched_features, list_images

    try:
        sets = {"real": list_images(real), "fake": list_images(fake)}
    except ImageSetError as error:
        raise UserError(str(error)) from error
    for name, paths in sets.items():
        if len(paths) < 2:
            raise UserError(f"{name} folder has {len(paths)} image; FID needs at least 2 per set (FID-30K uses 30,000)")
    extractor = load_extractor(features, weights)
    progress = sys.stderr.isatty()
    try:
        stats = {name: feature_statistics(batched_features(paths, extractor, batch_size, name, progress))
                 for name, paths in sets.items()}
    except ImageSetError as error:
        raise UserError(str(error)) from error
    value = frechet_distance(*stats["real"], *stats["fake"])
    label = "FID" if features == "inception" else "FD_shapes"
    record = {"fid": value, "features": features, "protocol": "clean-fid (PIL bicubic 299, float)"
              if features == "inception" else "shapes network (bilinear 64)", "real": str(real), "fake": str(fake),
              "num_real": len(sets["real"]), "num_fake": len(sets["fake"])}
    write_json(out, record)
    click.echo(f"{label} {value:.4f} ({len(sets['real'])} real, {len(sets['fake'])} fake images)")


@eval_group.command("clip-score", epilog=EXAMPLES_CLIP, cls=Command)
@click.argument("images", type=click.Path())
@click.argument("captions", required=False, type=click.Path())
@click.option("--weights", default=None, metavar="PATH|NAME",
              help="A saved CLIP folder or a hub name in the HF cache.  [default: openai/clip-vit-large-patch14]")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default=None, metavar="FILE", help='Write {"clip_score": ...} and the details as JSON.')
def clip_score(images, captions, weights, batch_size, out) -> None:
    """Mean CLIP score, 100 x max(cos(image, caption), 0), of the images in IMAGES against their captions
    (CAPTIONS: a .jsonl/.csv manifest with path and caption; without it, same-stem .txt files or a drawbench run)."""
    import numpy as np
    from tqdm.auto import tqdm

    from openimagen.eval.clip_score import ClipNotFoundError, ClipScorer
    from openimagen.eval.image_sets import ImageSetError, captioned_images, load_rgb

    try:
        pairs = captioned_images(images, captions)
    except (ImageSetError, FileNotFoundError) as error:
        raise UserError(str(error)) from error
    try:
        scorer = ClipScorer.load(weights, device_name())
    except ClipNotFoundError as error:
        raise UserError(str(error)) from error
    scores = []
    try:
        for start in tqdm(range(0, len(pairs), batch_size), unit="batch", disable=not sys.stderr.isatty()):
            chunk = pairs[start:start + batch_size]
            scores.append(scorer([load_rgb(path) for path, _ in chunk], [caption for _, caption in chunk]))
    except ImageSetError as error:
        raise UserError(str(error)) from error
    scores = np.concatenate(scores)
    value = float(scores.mean())
    record = {"clip_score": value, "std": float(scores.std()), "num_images": len(scores),
              "model": str(weights or "openai/clip-vit-large-patch14"), "images": str(images),
              "captions": str(captions) if captions else None}
    write_json(out, record)
    click.echo(f"CLIP score {value:.3f} (std {record['std']:.3f}, {len(scores)} images)")
