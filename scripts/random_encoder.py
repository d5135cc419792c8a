"""Write a randomly initialised copy of a text encoder (same architecture and tokenizer, no pretraining) to a folder.

For the paper's ablation (Imagen Sec. 4.4 / Fig. A.5: the frozen *pretrained* language model is what generalises):
train the same recipe once with the pretrained encoder and once with this folder as `cascade.text_encoder`, and
compare them on prompts in words the training captions never use (`--split wording`). Usage:
    python scripts/random_encoder.py runs/minilm-random [--encoder minilm] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import torch

from openimagen.text.loading import locate_encoder


def write_random_encoder(out: str | os.PathLike, encoder: str | None = None, seed: int = 0) -> Path:
    """Save `encoder`'s config and tokenizer with freshly initialised weights (deterministic given `seed`) to `out`;
    written to a temporary folder first and renamed, so `out` is either complete or absent."""
    from openimagen.torchvision_guard import hide_broken_torchvision

    hide_broken_torchvision()
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists; pass a new folder (the script never overwrites)")
    _, directory = locate_encoder(encoder)
    config = AutoConfig.from_pretrained(directory)
    torch.manual_seed(seed)
    model = AutoModel.from_config(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-")
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        AutoTokenizer.from_pretrained(directory).save_pretrained(tmp)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="new folder to write")
    parser.add_argument("--encoder", default=None, help="encoder to copy the architecture of (default: minilm)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"wrote {write_random_encoder(args.out, args.encoder, args.seed)}")


if __name__ == "__main__":
    main()
