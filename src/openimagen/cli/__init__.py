"""The `openimagen` command line: a thin layer over the library, one module per subcommand."""

from __future__ import annotations

import sys

import click

from openimagen import __version__


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 2, no traceback (unless --debug)."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="openimagen")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors (also accepted after the subcommand).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """openimagen: text-to-image diffusion (Imagen) on your own data, from a laptop to many GPUs."""
    ctx.obj = {"debug": debug}
    if debug:
        ctx.meta["openimagen.debug"] = True


def run() -> None:
    """Entry point that turns unexpected exceptions into one line unless --debug is given."""
    debug = "--debug" in sys.argv
    try:
        main(standalone_mode=True)
    except (click.ClickException, click.exceptions.Exit, SystemExit):
        raise
    except Exception as error:  # noqa: BLE001 - last-resort message for users
        if debug:
            raise
        click.echo(f"Error: {error} (rerun with --debug for the traceback)", err=True)
        sys.exit(1)


# Subcommands register themselves below, one import per module (keep this list sorted).
from openimagen.cli.bench import bench  # noqa: E402
from openimagen.cli.demo import demo  # noqa: E402
from openimagen.cli.encode import encode  # noqa: E402
from openimagen.cli.export import export  # noqa: E402
from openimagen.cli.info import info  # noqa: E402
from openimagen.cli.sample import sample  # noqa: E402
from openimagen.cli.train import train  # noqa: E402

main.add_command(bench)
main.add_command(demo)
main.add_command(encode)
main.add_command(export)
main.add_command(info)
main.add_command(sample)
main.add_command(train)
