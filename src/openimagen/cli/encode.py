"""`openimagen encode`: embed every caption of a data set once with a frozen text encoder (docs/text.md)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click
import torch

from openimagen.cli import UserError
from openimagen.cli.command import Command, hide_weight_loading_bar
from openimagen.cli.plain_warnings import plain_warnings
from openimagen.files import probe_folder
from openimagen.cli.threads import set_threads


EXAMPLES = """
\b
Examples:
  openimagen encode captions.txt cache/ --max-length 32       # MiniLM; --max-length = cascade.max_text_length
  openimagen encode train.jsonl cache/ --field text --encoder google/t5-v1_1-xl --device cuda
  openimagen encode captions.txt cache/ --rank 0 --world-size 4   # one of 4 machines; rerun to resume
"""


@click.command(cls=Command, epilog=EXAMPLES)
@click.argument("captions", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--encoder", "encoder_name", default="minilm", show_default=True,
              help="'minilm' (offline default), a Hugging Face repo id, or a folder written by save_pretrained.")
@click.option("--max-length", default=128, show_default=True, help="Tokens per caption; longer ones are cut.")
@click.option("--layers", default="-1", show_default=True,
              help="Hidden states concatenated per token, comma-separated (0 = word embeddings, -1 = final layer); "
                   "= cascade.text_encoder_layers.")
@click.option("--field", default="caption", show_default=True, help="Caption field of a .jsonl / .csv manifest.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--shard-size", default=4096, show_default=True, help="Captions per shard file.")
@click.option("--rank", default=0, show_default=True, envvar="RANK", help="This process's index (env RANK).")
@click.option("--world-size", default=1, show_default=True, envvar="WORLD_SIZE",
              help="Number of processes sharing the work (env WORLD_SIZE, as set by torchrun / accelerate).")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available).")
@click.option("--dtype", default=None, help="float32 / bfloat16 / float16 (default: float32 on CPU, bf16 on GPU).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads.  [default: the cores the load average leaves free, at least 1]")
def encode(captions, out_dir, encoder_name, max_length, layers, field, batch_size, shard_size, rank, world_size, device,
           dtype, threads) -> None:
    """Embed the captions in CAPTIONS (.txt, one per line; .jsonl / .csv with a caption field) into OUT_DIR.

    Rerun the same command to resume an interrupted run; run it with --rank 0..N-1 --world-size N on N machines
    to split the work.
    """
    from openimagen.text import CacheError, EncoderNotFoundError, encode_captions, load_encoder, read_captions

    hide_weight_loading_bar()
    set_threads(threads)
    check_device(device)
    if device is None and "LOCAL_RANK" in os.environ and torch.cuda.is_available():
        device = f"cuda:{os.environ['LOCAL_RANK']}"      # one GPU per process under torchrun / accelerate
    try:
        texts = read_captions(captions, field=field)
        check_captions(captions, texts)
        created = check_out_dir(out_dir)
        try:
            encoder = load_encoder(encoder_name, max_length=max_length, device=device, dtype=dtype,
                                   layers=_parse_layers(layers))
        except BaseException:
            if created:                                  # leave no empty OUT_DIR behind a failed start
                with contextlib.suppress(OSError):
                    os.rmdir(out_dir)
            raise
        with plain_warnings():
            result = encode_captions(texts, encoder, out_dir, shard_size=shard_size, rank=rank,
                                     world_size=world_size, batch_size=batch_size)
    except (CacheError, EncoderNotFoundError, ValueError) as error:
        raise UserError(str(error)) from error
    except KeyboardInterrupt:
        click.echo(f"interrupted: {cache_progress(out_dir)}; rerun the same command to resume", err=True)
        sys.exit(130)
    click.echo(f"{out_dir}: {result.shards_written} shards written, {result.shards_skipped} already complete "
               f"({result.captions_encoded} captions encoded with {encoder.id})")


def check_captions(path: str, texts: list[str]) -> None:
    """Refuse a file without captions; say how many are empty (kept: an empty line is the empty caption)."""
    blank = [i for i, text in enumerate(texts) if not text.strip()]
    if len(blank) == len(texts):
        what = f"all {len(texts)} captions in the file are empty" if texts else "the file has no captions"
        raise UserError(f"{path}: {what}; write one caption per line (.txt) or per record (.jsonl / .csv)")
    if blank:
        click.echo(f"note: {len(blank)} of {len(texts)} captions in {path} are empty (the first: caption "
                   f"{blank[0] + 1}); each is stored as the empty caption (zero tokens)", err=True)


def check_device(device: str | None) -> None:
    """--device names a device torch knows and this machine has (one line, not torch's error, otherwise)."""
    from openimagen.devices import check_device as check

    if device is not None:
        try:
            check(device)
        except (TypeError, ValueError) as error:
            raise UserError(f"--device {device}: {error} (or leave --device out)") from None


def check_out_dir(out_dir: str) -> bool:
    """Create OUT_DIR and write a probe in it, so a folder that cannot be made or written is one line naming it
    before the encoder loads (not an errno after it). True if this call created the folder."""
    try:
        return probe_folder(out_dir)
    except OSError as error:
        raise UserError(f"OUT_DIR {out_dir}: cannot write there ({error.strerror or error}); choose another "
                        "folder") from error


def cache_progress(out_dir: str) -> str:
    """How far a cache folder got, from its files: `3 of 10 shard(s) of cache/ are complete`."""
    from openimagen.text.cache_format import MANIFEST

    try:
        total = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))["num_shards"]
    except (OSError, ValueError, KeyError):
        return f"nothing written to {out_dir} yet"
    done = len(list(Path(out_dir).glob("shard-*.json")))
    return f"{done} of {total} shard(s) of {out_dir} are complete"


def _parse_layers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--layers {text!r}: expected comma-separated integers such as -1 or 0,-1") from None
