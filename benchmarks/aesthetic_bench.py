"""Aesthetic-weighted training on the shapes world (Imagen 2): does weighting by a quality score keep a model from
imitating the low-quality part of its data? One command:

    OMP_NUM_THREADS=1 python benchmarks/aesthetic_bench.py --steps 1000 --out runs/aesthetic-bench

Data: `--images` shapes-world scenes at 32 px; a share `--degraded` of them get Gaussian pixel noise and the
manifest column `aesthetic = --low-score` (clean ones 1.0). Three fine-tunes of the model's stage 1 at equal steps
(train.init_from): unweighted, `example_weight = {field = "aesthetic", mode = "loss"}` and `mode = "sampling"`.
Each then samples `--samples` images of the training prompts; a sample "looks degraded" when its high-frequency
energy (mean squared difference to its 3x3 box blur) is above the midpoint between the clean and the degraded
training images' medians. Reported: the share of degraded-looking samples per run (and the data's own share).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from openimagen.cascade import Cascade
from openimagen.data.shapes import render
from openimagen.data.shapes.world import make_specs
from openimagen.files import write_text_atomic

SIZE = 32


def high_frequency_energy(image: Image.Image) -> float:
    """Mean squared difference (in [0, 1] units) between the image and its 3x3 box blur."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64) / 255
    blurred = np.asarray(image.convert("RGB").filter(ImageFilter.BoxBlur(1)), dtype=np.float64) / 255
    return float(((pixels - blurred) ** 2).mean())


def degrade(image: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64) + rng.normal(0, sigma * 255, (SIZE, SIZE, 3))
    return Image.fromarray(pixels.clip(0, 255).round().astype(np.uint8))


def write_data(folder: Path, count: int, degraded: float, sigma: float, low_score: float, seed: int) -> tuple:
    """PNGs + manifest.jsonl; returns the prompts and the HF energies of clean and degraded images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    specs = make_specs("train", max(1, count // 7 + 1), seed, unique=False)[:count]
    rows, energies = [], {"clean": [], "degraded": []}
    for index, spec in enumerate(specs):
        image = render(spec, SIZE, seed=seed + index)
        bad = rng.random() < degraded
        if bad:
            image = degrade(image, rng, sigma)
        image.save(folder / f"{index:05d}.png")
        energies["degraded" if bad else "clean"].append(high_frequency_energy(image))
        rows.append({"path": f"{index:05d}.png", "caption": spec.prompt, "aesthetic": low_score if bad else 1.0})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return [spec.prompt for spec in specs], energies


def run_config(model: Path, data: Path, out: Path, steps: int, weight: dict | None, seed: int) -> dict:
    saved = json.loads((model / "config.json").read_text())["cascade"]
    train = {"output_dir": str(out), "stages": [1], "max_steps": steps, "batch_size": 16, "lr": 1e-4,
             "init_from": str(model), "checkpoint_every": max(steps, 1), "progress": False, "seed": seed,
             "ema_decay": 0.99}
    if weight is not None:
        train["example_weight"] = weight
    return {"cascade": saved, "train": train, "data": {"source": str(data / "manifest.jsonl")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="saved cascade (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=Path("runs/aesthetic-bench"))
    parser.add_argument("--images", type=int, default=700)
    parser.add_argument("--degraded", type=float, default=0.5, help="share of degraded training images")
    parser.add_argument("--sigma", type=float, default=0.15, help="noise std of a degraded image, in [0, 1] pixel units")
    parser.add_argument("--low-score", type=float, default=0.1, help="aesthetic score of a degraded image")
    parser.add_argument("--steps", type=int, default=1000, help="fine-tuning steps of each run")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true",
                        help="sample from runs already trained in --out (same data and steps) instead of training again")
    args = parser.parse_args()

    from openimagen.cli.model_folder import SHIPPED_MODEL
    from openimagen.train import config_from_dict, train

    model = args.model or SHIPPED_MODEL
    prompts, energies = write_data(args.out / "data", args.images, args.degraded, args.sigma, args.low_score,
                                   args.seed)
    threshold = (np.median(energies["clean"]) + np.median(energies["degraded"])) / 2
    data_share = len(energies["degraded"]) / args.images
    results = {"model": str(model), "threshold": threshold, "median_energy_clean": float(np.median(energies["clean"])),
               "median_energy_degraded": float(np.median(energies["degraded"])), "data_degraded_share": data_share,
               "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "runs": {}}
    weights = {"unweighted": None, "loss": {"field": "aesthetic", "mode": "loss"},
               "sampling": {"field": "aesthetic", "mode": "sampling"}}
    for name, weight in weights.items():
        config = config_from_dict(run_config(model, args.out / "data", args.out / name, args.steps, weight, args.seed))
        exported = Path(config.train.output_dir) / "cascade"
        if not (args.reuse and (exported / "config.json").is_file()):
            train(config)                                # exports output_dir/cascade (stage 2 from init_from)
        cascade = Cascade.from_pretrained(exported)
        chosen = [prompts[i % len(prompts)] for i in range(args.samples)]
        images = cascade(chosen, seed=args.seed, stop_at_stage=1, progress=False)
        energy = np.array([high_frequency_energy(im) for im in images])
        share = float(np.mean(energy > threshold))
        results["runs"][name] = {"degraded_looking_share": share, "samples": len(images),
                                 "median_energy": float(np.median(energy))}
        print(f"{name}: {share:.1%} of {len(images)} samples look degraded (data: {data_share:.0%})", flush=True)
    write_text_atomic(args.out / "results.json", json.dumps(results, indent=1) + "\n")
    print(f"| run | degraded-looking samples | median high-frequency energy (data: clean "
          f"{results['median_energy_clean']:.2e}, degraded {results['median_energy_degraded']:.2e}) |\n|---|---|---|")
    for name, run in results["runs"].items():
        print(f"| {name} | {run['degraded_looking_share']:.1%} ({round(run['degraded_looking_share'] * run['samples'])}"
              f"/{run['samples']}) | {run['median_energy']:.2e} |")


if __name__ == "__main__":
    main()
