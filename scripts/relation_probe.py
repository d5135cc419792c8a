"""Does stage 1 read relation words at all? A cheap diagnostic (seconds, no sampling, no judge).

For three relations it asks the model for x0 from the same noise with both word orders ("a red circle above a blue
square" / "a blue square above a red circle") at high noise levels, where a layout is decided, and measures the
offset of the red mass's centroid from the blue mass's along the relation's axis (canvas units, averaged over noise
seeds). The **gap** between the two orders is ~0.75 for the training data's renders at 32 px and 0 for a model that
ignores the relation (docs/experiments.md, session 6). Usage:
    python scripts/relation_probe.py --model src/openimagen/models/shapes-cascade [--seeds 16]
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

# (prompt with red first, prompt with blue first, axis: 0 = x, 1 = y); in each pair red should be above/below/left.
PAIRS = (("a red circle above a blue square", "a blue square above a red circle", 1),
         ("a red circle below a blue square", "a blue square below a red circle", 1),
         ("a red circle to the left of a blue square", "a blue square to the left of a red circle", 0))
SIGNS = (1.0, -1.0, 1.0)   # gap = sign * (offset(blue first) - offset(red first)): > 0 when the words are read


def centroid(mass: torch.Tensor, axis: int) -> torch.Tensor:
    """[b, h, w] non-negative -> [b] centroid along x (axis 0) or y (axis 1), in [0, 1]."""
    weights = mass / mass.sum((1, 2), keepdim=True).clamp(min=1e-8)
    grid = torch.linspace(0, 1, mass.shape[-1])
    return (weights.sum(1 + axis) * grid).sum(-1)


def color_mass(x0: torch.Tensor, channel: int) -> torch.Tensor:
    """[b, 3, h, w] in [-1, 1] -> [b, h, w]: how much more `channel` (0 red, 2 blue) than the other two, clipped at 0."""
    others = [c for c in range(3) if c != channel]
    return (x0[:, channel] - x0[:, others].mean(1)).clamp(min=0)


def red_minus_blue(x0: torch.Tensor, axis: int) -> torch.Tensor:
    """[b, 3, h, w] in [-1, 1] -> [b]: centroid of the red mass minus that of the blue mass along `axis`."""
    return centroid(color_mass(x0, 0), axis) - centroid(color_mass(x0, 2), axis)


def relation_gaps(predict_x0: Callable[[list[str], torch.Tensor], torch.Tensor], size: int,
                  seeds: int = 16) -> list[float]:
    """One gap per pair in PAIRS. `predict_x0(prompts, z)` -> x0 [len(prompts), 3, size, size] in [-1, 1]."""
    prompts = [p for pair in PAIRS for p in pair[:2]]
    offsets = torch.zeros(len(prompts))
    for seed in range(seeds):
        z = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed)).expand(len(prompts), -1, -1, -1)
        x0 = predict_x0(prompts, z).clamp(-1, 1)
        offsets += torch.cat([red_minus_blue(x0[2 * i:2 * i + 2], axis) for i, (_, _, axis) in enumerate(PAIRS)])
    offsets /= seeds
    return [sign * (offsets[2 * i + 1] - offsets[2 * i]).item() for i, sign in enumerate(SIGNS)]


def model_predictor(model: str):
    """(predict_x0(prompts, z, log_snr), size) for stage 1 of a saved cascade, loaded once."""
    from openimagen import diffusion as D
    from openimagen.cascade import Cascade
    cascade = Cascade.from_pretrained(model)
    net, stage = cascade.networks[0], cascade.config.stages[0]

    def predict_x0(prompts: list[str], z: torch.Tensor, log_snr: float) -> torch.Tensor:
        emb, mask = cascade.embedder.encoder.encode(prompts)
        lam = torch.full((len(prompts),), log_snr)
        with torch.no_grad():
            return D.prediction_to_x0(net(z, lam, emb, mask), z, lam, stage.diffusion_config.prediction)

    return predict_x0, stage.resolution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--log-snr", type=float, nargs="+", default=[-4.0, -2.0, 0.0])
    args = parser.parse_args()
    torch.set_num_threads(1)
    predict_x0, size = model_predictor(args.model)
    for log_snr in args.log_snr:
        gaps = relation_gaps(lambda prompts, z, s=log_snr: predict_x0(prompts, z, s), size, args.seeds)
        print(f"log-SNR {log_snr:+.0f}: gaps above {gaps[0]:+.3f}  below {gaps[1]:+.3f}  left of {gaps[2]:+.3f}")


if __name__ == "__main__":
    main()
