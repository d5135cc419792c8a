"""The class of every subcommand: it accepts `--debug`, which shows the traceback of the error behind a one-line
user error (and, through `openimagen.cli.run`, of any unexpected error)."""

from __future__ import annotations

import click

from openimagen.cli import UserError

__all__ = ["Command", "debug_requested", "hide_weight_loading_bar"]

DEBUG_HELP = "Show full tracebacks on errors."


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta["openimagen.debug"] = True
    return value


def debug_option() -> click.Option:
    return click.Option(["--debug"], is_flag=True, expose_value=False, callback=_remember_debug, help=DEBUG_HELP)


def debug_requested(ctx: click.Context) -> bool:
    """`--debug` was given to the group (`openimagen --debug CMD`) or to the subcommand (`openimagen CMD --debug`)."""
    return bool(ctx.meta.get("openimagen.debug"))


class Command(click.Command):
    """A subcommand with `--debug`: a UserError raised from another error re-raises that error instead."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(debug_option())

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as error:
            if debug_requested(ctx) and error.__cause__ is not None:
                raise error.__cause__
            raise


def hide_weight_loading_bar() -> None:
    """transformers draws a "Loading weights" bar on stderr each time the text encoder loads: noise in a CLI."""
    from openimagen.torchvision_guard import hide_broken_torchvision

    hide_broken_torchvision()
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
