"""Grow a saved stage's network without changing what it computes, to fine-tune it with more capacity:

- `--attn-every-block`: attention (self and/or cross, as the level already has) after every residual block of the
  levels that have attention, not once per block. The saved attention keeps its place after the last residual
  block; the new ones come first and start as the identity (zero output projections, nn/attention.py).
- `--extra-res-block LEVEL`: one more residual block at LEVEL (0 = the highest resolution), appended after the saved
  ones; it starts as the identity (its second conv is zero, nn/blocks.py).

    python scripts/grow_stage.py src/openimagen/models/shapes-cascade runs/A0init --stage 1 --attn-every-block
    openimagen train configs/shapes-cascade.toml --stage 1 --set train.init_from=runs/A0init \\
        --set cascade.stages.1.network.attn_every_res_block=true ...

Session 20 (docs/experiments.md) fine-tuned the shipped stage 1 both ways. Efficient U-Net stages only.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys

import torch

from openimagen.cascade.pretrained import load_cascade, save_cascade
from openimagen.nn import build_network
from openimagen.nn.config import EfficientUNetConfig, config_to_dict

SAVED_ATTENTION = re.compile(r"^(down|up)\.(\d+)\.attn\.0\.(.*)$")


def grown_config(config: EfficientUNetConfig, attn_every_block: bool, extra_res_level: int | None):
    if not isinstance(config, EfficientUNetConfig):
        raise SystemExit(f"grow_stage.py grows Efficient U-Nets only, got {type(config).__name__}")
    changes = {}
    if attn_every_block:
        if config.attn_every_res_block:
            raise SystemExit("--attn-every-block: the network already has attention after every residual block")
        changes["attn_every_res_block"] = True
    if extra_res_level is not None:
        if not 0 <= extra_res_level < len(config.num_res_blocks):
            raise SystemExit(f"--extra-res-block: level must be in 0..{len(config.num_res_blocks) - 1}, "
                             f"got {extra_res_level}")
        if config.attn_every_res_block or attn_every_block:
            raise SystemExit("--extra-res-block: with attention after every residual block, a new block would also "
                             "need a new attention; grow one way at a time")
        blocks = list(config.num_res_blocks)
        blocks[extra_res_level] += 1
        changes["num_res_blocks"] = tuple(blocks)
    if not changes:
        raise SystemExit("nothing to grow: give --attn-every-block or --extra-res-block LEVEL")
    return dataclasses.replace(config, **changes)


@torch.no_grad()
def grow(network: torch.nn.Module, config: EfficientUNetConfig) -> torch.nn.Module:
    """A network built from `config` that computes what `network` computes."""
    grown = build_network(config)
    weights = {}
    for key, value in network.state_dict().items():
        match = SAVED_ATTENTION.match(key)
        if match and config.attn_every_res_block and not network.config.attn_every_res_block:
            side, index, rest = match.groups()
            last = len(getattr(grown, side)[int(index)].attn) - 1
            key = f"{side}.{index}.attn.{last}.{rest}"
        weights[key] = value
    grown.load_state_dict({**grown.state_dict(), **weights})     # strict: a saved tensor with no place raises
    return grown


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a saved cascade folder (openimagen export / save_pretrained)")
    parser.add_argument("out", help="the folder to write (replaced atomically)")
    parser.add_argument("--stage", type=int, default=1)
    parser.add_argument("--attn-every-block", action="store_true")
    parser.add_argument("--extra-res-block", type=int, metavar="LEVEL")
    args = parser.parse_args(argv)
    cascade = load_cascade(args.model)
    if not 1 <= args.stage <= len(cascade.networks):
        raise SystemExit(f"--stage: {args.model} has stages 1..{len(cascade.networks)}, got {args.stage}")
    network = cascade.networks[args.stage - 1]
    config = grown_config(network.config, args.attn_every_block, args.extra_res_block)
    grown = grow(network, config)               # load_cascade gives float32 weights
    cascade.networks[args.stage - 1] = grown
    stages = list(cascade.config.stages)
    stages[args.stage - 1] = dataclasses.replace(stages[args.stage - 1], network=config_to_dict(config))
    cascade.config = dataclasses.replace(cascade.config, stages=stages)
    save_cascade(cascade, args.out)
    added = sum(p.numel() for p in grown.parameters()) - sum(p.numel() for p in network.parameters())
    print(f"wrote {args.out}: stage {args.stage} grew by {added:,} parameters, starting as the saved network")


if __name__ == "__main__":
    main(sys.argv[1:])
