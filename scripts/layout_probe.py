"""Does stage 1 use the position words at all? A cheap diagnostic (seconds, no sampling, no judge).

For prompts that differ only in a position word, it predicts x0 from the same pure-ish noise z at high noise
levels (where a layout is decided) and prints the centroid of the predicted red "mass" (red minus the mean of green
and blue, clipped at 0), averaged over noise seeds. A model that reads "on the left" puts that centroid left of the
one for "on the right"; the data's own means are x ~ 0.2 vs 0.8. It also prints a more sensitive "moment": the mean
of (redness("left") - redness("right")) times -x over the image (x in [-1, 1]; likewise top/bottom with y), > 0 when
the word moves red the right way, 0 when it is ignored (a 4-caption model that learned it: ~0.07). Usage:
    python scripts/layout_probe.py --model src/openimagen/models/shapes-cascade [--seeds 8]
"""

from __future__ import annotations

import argparse

import torch

# same folder: `python scripts/layout_probe.py` puts it on sys.path
from relation_probe import centroid, color_mass, model_predictor

PROMPTS = ("a red circle on the left", "a red circle on the right", "a red circle at the top",
           "a red circle at the bottom")


def red_centroids(x0: torch.Tensor) -> torch.Tensor:
    """[b, 3, h, w] in [-1, 1] -> [b, 2] (x, y) in [0, 1] of the red-minus-the-rest map."""
    red = color_mass(x0, 0)
    return torch.stack([centroid(red, 0), centroid(red, 1)], dim=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--log-snr", type=float, nargs="+", default=[-6.0, -3.0, 0.0])
    args = parser.parse_args()
    torch.set_num_threads(1)
    predict_x0, size = model_predictor(args.model)
    for log_snr in args.log_snr:
        total, redness = torch.zeros(len(PROMPTS), 2), torch.zeros(len(PROMPTS), size, size)
        for seed in range(args.seeds):
            z = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed)).expand(len(PROMPTS), -1, -1, -1)
            x0 = predict_x0(list(PROMPTS), z, log_snr)
            total += red_centroids(x0.clamp(-1, 1))
            redness += x0.clamp(-1, 1)[:, 0] - x0.clamp(-1, 1)[:, 1:].mean(1)
        mean, redness = total / args.seeds, redness / args.seeds
        grid = torch.linspace(-1, 1, size)
        moment_x = -((redness[0] - redness[1]) * grid[None, :]).mean().item()
        moment_y = -((redness[2] - redness[3]) * grid[:, None]).mean().item()
        cells = "  ".join(f"{p.split('circle ')[1]}: ({x:.2f}, {y:.2f})" for p, (x, y) in zip(PROMPTS, mean.tolist()))
        print(f"log-SNR {log_snr:+.0f}: {cells}  moments x {moment_x:+.4f} y {moment_y:+.4f}")


if __name__ == "__main__":
    main()
