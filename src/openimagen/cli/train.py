"""`openimagen train CONFIG [--set key=value ...] [--stage N]`: thin over `openimagen.train.train`.

Works as is on one process and under `accelerate launch` / `torchrun` (Accelerate reads their environment).
"""

from __future__ import annotations

import logging
import math
import sys

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command, hide_weight_loading_bar
from openimagen.cli.plain_warnings import plain_warnings

EXIT_INTERRUPTED = 75   # stopped by SIGTERM/SIGINT (or a dead launcher) after saving: rerun to resume (EX_TEMPFAIL)


EXAMPLES = """
\b
Examples:
  openimagen train configs/tiny-2stage.toml --set data.source=my_images/      # folder of images + .txt captions
  openimagen train configs/shapes-cascade.toml --stage 1 --set train.max_steps=2000
  openimagen train CONFIG --set data.embedding_cache=cache/                    # captions from `openimagen encode`
  accelerate launch --multi_gpu --num_processes 8 $(which openimagen) train CONFIG
"""


@click.command("train", cls=Command, epilog=EXAMPLES)
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.lr=3e-4 --set cascade.stages.2.crop_size=64.")
@click.option("--stage", "stages", type=int, multiple=True,
              help="Train this stage (1-based; repeatable). Default: train.stages from the config.")
def train(config_path: str, overrides: tuple[str, ...], stages: tuple[int, ...]) -> None:
    """Train stage(s) of a cascade from a TOML CONFIG; resumes from the latest checkpoint automatically.

    SIGTERM/SIGINT save a checkpoint and exit with code 75; rerun the same command to continue. When every stage has a
    checkpoint, the sampling-ready cascade is written to OUTPUT_DIR/cascade.
    """
    from openimagen.cascade.pretrained import SaveError
    from openimagen.data import DataError, DataSourceError
    from openimagen.text import CacheError, EncoderNotFoundError
    from openimagen.train.checkpoint import CheckpointError
    from openimagen.train.run_lock import RunLocked
    from openimagen.train.config import load_config
    from openimagen.train.run import train as run_training
    from openimagen.train.trainer import TrainingDiverged
    from openimagen.config import ConfigError

    hide_weight_loading_bar()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path, overrides)
        if stages:
            bad = [s for s in stages if not 1 <= s <= len(config.cascade.stages)]
            if bad:
                raise ConfigError(f"--stage {bad[0]}: the cascade has {len(config.cascade.stages)} stage(s)")
        with plain_warnings():                  # e.g. captions longer than the encoder reads: one plain line
            results = run_training(config, list(stages) or None)
    except (ConfigError, CacheError, DataSourceError, EncoderNotFoundError, TrainingDiverged, CheckpointError,
            RunLocked, SaveError, DataError) as error:     # a loader worker's DataError is one line already
        raise UserError(str(error)) from error
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    for number, result in results.items():
        if not result.interrupted and math.isnan(result.last_loss) and not result.images_per_second:
            click.echo(f"stage {number}: already at step {result.step} (train.max_steps); nothing to do, "
                       f"checkpoint {result.checkpoint}")
            continue
        state = "interrupted; rerun to resume" if result.interrupted else "done"
        click.echo(f"stage {number}: step {result.step} ({state}), last loss {result.last_loss:.4g}, "
                   f"{result.images_per_second:.1f} img/s, {result.skipped_steps} non-finite steps skipped, "
                   f"checkpoint {result.checkpoint}")
        if result.data_skips:
            click.echo(f"stage {number} data: {result.data_skips}")
    if any(result.interrupted for result in results.values()):
        sys.exit(EXIT_INTERRUPTED)
