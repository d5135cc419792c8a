"""What a training step of the shipped stage-1 network costs, per batch size and per network variant: does a
cheaper network or a larger batch buy more images per CPU-minute? One process, round-robin medians.

    OMP_NUM_THREADS=1 python benchmarks/stage1_step_cost.py --batch 8 16 32 \
        --variant '{"num_res_blocks": [1, 1, 1]}' --variant '{"self_attn_levels": [false, false, true]}'

A step is forward + backward + fused AdamW on random inputs (32 text tokens of the shipped encoder's width), under
bf16 autocast where the CPU has native bf16 (`cpu_has_fast_bf16`, as the trainer decides), else fp32.
Prints one markdown row per (variant, batch): ms per step, ms per image, parameters.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_utils import interleaved_medians  # noqa: E402

from openimagen.nn import build_network, config_from_dict, count_parameters, example_inputs  # noqa: E402
from openimagen.train.accelerator import cpu_has_fast_bf16  # noqa: E402

MODEL = Path(__file__).resolve().parents[1] / "src/openimagen/models/shapes-cascade/config.json"
TOKENS = 32


def stage1_config(changes: dict):
    raw = json.loads(MODEL.read_text())["stages"][0]["network"]
    return config_from_dict({**raw, **changes})


def make_step(changes: dict, batch_size: int, bf16: bool):
    net = build_network(stage1_config(changes))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, fused=True)
    inputs = example_inputs(net, 32, batch_size, TOKENS)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(**inputs)
        out.float().square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step, count_parameters(net)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, nargs="+", default=[8, 16, 32])
    p.add_argument("--variant", action="append", default=[], help="JSON changes to the network config")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    bf16 = cpu_has_fast_bf16()
    variants = [{}] + [json.loads(v) for v in args.variant]
    steps, params = {}, {}
    for i, changes in enumerate(variants):
        for b in args.batch:
            key = (i, b)
            steps[key], params[key] = make_step(changes, b, bf16)
    medians = interleaved_medians({str(k): fn for k, fn in steps.items()}, args.repeats, warmup=3)
    print(f"threads {torch.get_num_threads()}, {'bf16 autocast' if bf16 else 'fp32'}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print("| network | batch | ms / step | ms / image | params (M) |\n|---|---|---|---|---|")
    for (i, b), seconds in ((k, medians[str(k)]) for k in steps):
        name = json.dumps(variants[i]) if variants[i] else "shipped stage 1"
        print(f"| {name} | {b} | {seconds * 1e3:.1f} | {seconds * 1e3 / b:.2f} | {params[(i, b)] / 1e6:.2f} |")


if __name__ == "__main__":
    main()
