"""`openimagen export CONFIG`: a training run's checkpoints -> a sampling-ready cascade folder."""

from __future__ import annotations

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command, hide_weight_loading_bar


@click.command("export", cls=Command)
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Config overrides, as for train.")
@click.option("--checkpoint", "checkpoints", multiple=True, metavar="STAGE=DIR",
              help="Use this checkpoint for a stage (default: the stage's latest), e.g. --checkpoint 1=run/stage-1/"
                   "checkpoints/step-00002000.")
@click.option("--out", default=None, metavar="DIR",
              help="Output folder: new, empty, or a saved cascade (replaced).  [default: OUTPUT_DIR/cascade]")
@click.option("--fp16", is_flag=True, help="Store the weights as float16 (half the size; sampling stays fp32).")
@click.option("--no-raw", is_flag=True, help="Only the EMA weights (the ones sampling uses).")
def export(config_path: str, overrides: tuple[str, ...], checkpoints: tuple[str, ...], out: str | None, fp16: bool,
           no_raw: bool) -> None:
    """Assemble the EMA weights of every stage of a run into a folder for `openimagen sample --model DIR`.

    Example: openimagen export configs/shapes-cascade.toml --fp16 --no-raw --out my-model
    """
    import torch

    from openimagen.train.checkpoint import CheckpointError
    from openimagen.train.config import load_config
    from openimagen.cascade.pretrained import SaveError
    from openimagen.train.run import export_cascade
    from openimagen.config import ConfigError

    hide_weight_loading_bar()
    chosen = {}
    for item in checkpoints:
        stage, _, path = item.partition("=")
        if not stage.isdigit() or not path:
            raise UserError(f"--checkpoint {item!r}: expected STAGE=DIR, e.g. 1=runs/x/stage-1/checkpoints/step-00001000")
        chosen[int(stage)] = path
    try:
        config = load_config(config_path, overrides)
        directory = export_cascade(config, out, checkpoints=chosen, dtype=torch.float16 if fp16 else None,
                                   raw=not no_raw)
    except (ConfigError, FileNotFoundError, CheckpointError, SaveError) as error:
        raise UserError(str(error)) from error
    click.echo(f"wrote {directory}")
