"""Train the FD_shapes feature network (openimagen.eval.features) on shapes-world attribute labels, on CPU.

    OMP_NUM_THREADS=1 python scripts/train_shapes_features.py [--steps 3000] [--out src/openimagen/models/shapes_features]

Scenes: layouts of `sample_spec` training scenes, re-rendered on the fly with label-preserving changes (a random
permutation of the colors and of the shapes, mirror images, transposition), half at 64 px and half at 32 px
(resized to 64 like the extractor does). Labels of a scene, read from its placed objects:
- the count (0..6) of every (color, shape) and of every (shape, size): 27 classification heads of 7 classes;
- for every color, which cells of a 3 x 3 grid hold an object centre: 63 binary outputs.
Held-out accuracy is measured on unaugmented scenes of the "eval" and "heldout" splits.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save

from openimagen.data.shapes import COLORS, SHAPES, SIZES, Placed, draw, layout
from openimagen.data.shapes.vocab import MAX_OBJECTS
from openimagen.data.shapes.world import sample_spec
from openimagen.eval.features import CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE, FeatureNetConfig, ShapesFeatureNet, to_input
from openimagen.text.cache_format import atomic_write_bytes

COUNT_KEYS = [("color", c, s) for c in COLORS for s in SHAPES] + [("size", s, z) for s in SHAPES for z in SIZES]
NUM_CLASSES = MAX_OBJECTS + 1
GRID = 3
NUM_OUTPUTS = len(COUNT_KEYS) * NUM_CLASSES + len(COLORS) * GRID * GRID


def labels(objects: list[Placed]) -> tuple[np.ndarray, np.ndarray]:
    """(counts [27] int, color grid [7 * 9] 0/1) of a scene."""
    counts = np.zeros(len(COUNT_KEYS), np.int64)
    grid = np.zeros((len(COLORS), GRID, GRID), np.float32)
    for o in objects:
        counts[COUNT_KEYS.index(("color", o.color, o.shape))] += 1
        counts[COUNT_KEYS.index(("size", o.shape, o.size))] += 1
        grid[COLORS.index(o.color), min(int(o.cy * GRID), GRID - 1), min(int(o.cx * GRID), GRID - 1)] = 1
    return counts, grid.reshape(-1)


def augment(objects: list[Placed], rng: np.random.Generator) -> list[Placed]:
    """Same geometry up to a mirror/transpose, colors and shapes permuted (triangles still point up when drawn)."""
    colors = dict(zip(COLORS, rng.permutation(COLORS)))
    shapes = dict(zip(SHAPES, rng.permutation(SHAPES)))
    flip_x, flip_y, transpose = rng.random(3) < 0.5
    out = []
    for o in objects:
        cx, cy = (1 - o.cx if flip_x else o.cx), (1 - o.cy if flip_y else o.cy)
        cx, cy = (cy, cx) if transpose else (cx, cy)
        out.append(replace(o, color=str(colors[o.color]), shape=str(shapes[o.shape]), cx=cx, cy=cy))
    return out


def make_batch(scenes: list[list[Placed]], sizes: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs [b, 3, 64, 64] (each scene drawn at its size, resized to 64), counts [b, 27], grid [b, 63]."""
    x = torch.cat([to_input([draw(objects, size)]) for objects, size in zip(scenes, sizes)])
    counts, grid = zip(*(labels(objects) for objects in scenes))
    return x, torch.from_numpy(np.stack(counts)), torch.from_numpy(np.stack(grid))


def split_logits(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cut = len(COUNT_KEYS) * NUM_CLASSES
    return logits[:, :cut].reshape(-1, len(COUNT_KEYS), NUM_CLASSES), logits[:, cut:]


def loss_fn(logits: torch.Tensor, counts: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    count_logits, grid_logits = split_logits(logits)
    return F.cross_entropy(count_logits.transpose(1, 2), counts) + F.binary_cross_entropy_with_logits(grid_logits, grid)


def sample_scenes(count: int, split: str, rng: np.random.Generator) -> list[list[Placed]]:
    return [layout(sample_spec(rng, split=split), rng) for _ in range(count)]


@torch.no_grad()
def evaluate(net: ShapesFeatureNet, scenes: list[list[Placed]], size: int) -> dict[str, float]:
    """Attribute accuracy on unaugmented scenes drawn at `size`."""
    net.eval()
    parts = [make_batch(scenes[i:i + 256], [size] * len(scenes[i:i + 256])) for i in range(0, len(scenes), 256)]
    logits = torch.cat([net(x) for x, _, _ in parts])
    counts, grid = torch.cat([c for _, c, _ in parts]), torch.cat([g for _, _, g in parts])
    count_logits, grid_logits = split_logits(logits)
    right = count_logits.argmax(-1) == counts
    present = counts[:, :len(COLORS) * len(SHAPES)] > 0
    net.train()
    return {"count_head_accuracy": right.float().mean().item(),
            "present_combo_count_accuracy": right[:, :present.shape[1]][present].float().mean().item(),
            "scene_all_counts_correct": right.all(1).float().mean().item(),
            "grid_cell_accuracy": ((grid_logits > 0).float() == grid).float().mean().item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--pool", type=int, default=8000, help="training layouts (each re-rendered augmented)")
    parser.add_argument("--eval-scenes", type=int, default=1000, help="per held-out split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.time()
    pool = sample_scenes(args.pool, "train", rng)
    held_out = {split: sample_scenes(args.eval_scenes, split, rng) for split in ("eval", "heldout")}
    print(f"{len(pool)} training layouts in {time.time() - start:.0f}s", flush=True)

    config = FeatureNetConfig(num_outputs=NUM_OUTPUTS)
    net = ShapesFeatureNet(config)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    for step in range(1, args.steps + 1):
        scenes = [augment(pool[i], rng) for i in rng.integers(len(pool), size=args.batch)]
        x, counts, grid = make_batch(scenes, [64 if rng.random() < 0.5 else 32 for _ in scenes])
        loss = loss_fn(net(x), counts, grid)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == args.steps:
            print(f"step {step} loss {loss.item():.4f} {time.time() - start:.0f}s", flush=True)
    train_seconds = time.time() - start
    accuracy = {f"{split}@{size}px": evaluate(net, scenes, size)
                for split, scenes in held_out.items() for size in (64, 32)}
    print(json.dumps(accuracy, indent=1))

    args.out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().half().contiguous() for k, v in net.state_dict().items()}
    atomic_write_bytes(args.out / WEIGHTS_FILE, save(weights))
    meta = {"model": asdict(config),
            "training": {"command": "OMP_NUM_THREADS=1 python " + shlex.join(sys.argv), "steps": args.steps,
                         "batch": args.batch, "wall_seconds": round(train_seconds), "torch": torch.__version__,
                         "held_out_accuracy": {k: {m: round(v, 4) for m, v in d.items()} for k, d in accuracy.items()},
                         "outputs": f"{len(COUNT_KEYS)} count heads x {NUM_CLASSES} classes + "
                                    f"{len(COLORS)} colors x {GRID}x{GRID} grid"}}
    atomic_write_bytes(args.out / CONFIG_FILE, (json.dumps(meta, indent=1) + "\n").encode())
    print(f"wrote {args.out / WEIGHTS_FILE} ({(args.out / WEIGHTS_FILE).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
