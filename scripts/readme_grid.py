"""The README's picture: a few prompts, N samples each from a cascade, one row per prompt with the prompt beside it.

    OMP_NUM_THREADS=1 python scripts/readme_grid.py --out docs/images/shipped-model.png            # shipped model
    python scripts/readme_grid.py --model runs/x/cascade --prompts "a red circle" "two blue squares"

Images are upscaled (nearest neighbour, `--scale`) so 64 px samples stay visible; the seed is fixed and printed, so
the picture is reproducible with `openimagen sample PROMPT --seed S --num-images N`.
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image, ImageDraw, ImageFont

from openimagen.cascade import Cascade
from openimagen.cli.model_folder import resolve_model
from openimagen.eval.report import grid_image
from openimagen.files import save_image_atomic

PROMPTS = ["a red circle above a blue square", "three green triangles", "a yellow square on the left of a black circle",
           "two purple squares", "a large blue triangle at the bottom", "a small orange circle and a large red square"]


def labelled_rows(rows: list[list[Image.Image]], labels: list[str], label_width: int = 330) -> Image.Image:
    strips = [grid_image(images, columns=len(images)) for images in rows]
    width, height = strips[0].size
    canvas = Image.new("RGB", (label_width + width, height * len(strips)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=15)
    for index, (strip, label) in enumerate(zip(strips, labels)):
        canvas.paste(strip, (label_width, index * height))
        draw.text((8, index * height + height // 2), label, fill=(0, 0, 0), font=font, anchor="lm")
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="cascade folder (default: the shipped model)")
    parser.add_argument("--prompts", nargs="+", default=PROMPTS)
    parser.add_argument("--num-images", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--out", default="docs/images/shipped-model.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cascade = Cascade.from_pretrained(str(resolve_model(args.model)))
    rows = []
    for prompt in args.prompts:
        images = cascade([prompt], num_images_per_prompt=args.num_images, seed=args.seed, progress=False)
        rows.append([im.resize((im.width * args.scale, im.height * args.scale), Image.NEAREST) for im in images])
    save_image_atomic(labelled_rows(rows, args.prompts), args.out, optimize=True)
    print(f"wrote {args.out} (seed {args.seed}, {args.num_images} images per prompt)")


if __name__ == "__main__":
    main()
