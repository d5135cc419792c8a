"""The `openimagen` command line: a thin layer over the library, one module per subcommand."""

from __future__ import annotations

import importlib
import os
import sys

import click

from openimagen import __version__


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 2, no traceback (unless --debug)."""

    exit_code = 2


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (or help lists it): `openimagen info` never
    pays for torch, `openimagen sample` not for the trainer or the benchmark."""

    def __init__(self, *args, subcommands: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands = subcommands                # command name -> "module" or "module:attribute" in openimagen.cli

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.subcommands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.subcommands:
            return None
        module, _, attribute = self.subcommands[name].partition(":")
        return getattr(importlib.import_module(f"openimagen.cli.{module}"), attribute or name)


SUBCOMMANDS = {"bench": "bench", "demo": "demo", "drawbench": "drawbench", "edit": "edit", "encode": "encode",
               "eval": "eval:eval_group", "export": "export", "info": "info", "rate": "rate", "sample": "sample",
               "train": "train"}
FAST_EXIT = ("demo", "edit", "info", "sample")   # nothing left to clean up when they end: skip the interpreter's teardown


@click.group(cls=LazyGroup, subcommands=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before torch loads OpenMP: waiting threads sleep, not spin
    debug = "--debug" in sys.argv
    try:
        main(standalone_mode=True)
    except SystemExit as done:
        if done.code in (0, None) and _subcommand(sys.argv[1:]) in FAST_EXIT:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)                    # tearing down torch and transformers takes ~1 s; the files are written
        raise
    except (click.ClickException, click.exceptions.Exit):
        raise
    except Exception as error:  # noqa: BLE001 - last-resort message for users
        if debug:
            raise
        click.echo(f"Error: {error} (rerun with --debug for the traceback)", err=True)
        sys.exit(1)


def _subcommand(args: list[str]) -> str | None:
    return next((arg for arg in args if not arg.startswith("-")), None)
