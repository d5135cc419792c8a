"""Checks of numeric options shared by the subcommands: each failure is one UserError line naming the option."""

from __future__ import annotations

import math

import click

from openimagen.cli import UserError

__all__ = ["check_positive_ints", "check_float", "check_seed", "sampler_option", "guidance_interval_option"]


def check_positive_ints(**options: int | None) -> None:
    """`check_positive_ints(steps=0)` -> "--steps must be a positive integer, got 0" (None = not given)."""
    for name, value in options.items():
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")


def check_float(option: str, value: float | None, low: float | None = None, high: float | None = None,
                meaning: str = "") -> None:
    """A float option is finite and inside [low, high] (either bound optional); None = not given."""
    if value is None:
        return
    if not math.isfinite(value):
        raise UserError(f"{option} must be a finite number, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"in [{low:g}, {high:g}]" if low is not None and high is not None else \
            f">= {low:g}" if low is not None else f"<= {high:g}"
        raise UserError(f"{option} must be {bounds}{f' ({meaning})' if meaning else ''}, got {value}")


def check_seed(seed: int | None) -> None:
    """--seed as the library checks it (`Cascade` takes seeds in 0..2^64-1), as one line naming the option."""
    from openimagen.cascade.pipeline import check_seed as check

    try:
        check(seed)
    except ValueError as error:
        raise UserError(f"--{error}") from None


def sampler_option(default: str | None = None):
    """The `--sampler` option of every subcommand, from the one registry (openimagen.diffusion.SAMPLERS); aliases
    such as `dpmpp` arrive as their registry name."""
    from openimagen.diffusion import resolve_sampler, sampler_choices

    return click.option("--sampler", type=click.Choice(sampler_choices()), default=default,
                        show_default=default is not None,
                        callback=lambda _ctx, _param, value: None if value is None else resolve_sampler(value),
                        help="Sampler (dpmpp = dpmpp_2m)." + ("" if default else "  [default: the model's]"))


def guidance_interval_option():
    """`--guidance-interval LO HI`: the log-SNR range where guidance applies (inf / -inf = no bound), as the
    (lo, hi) tuple of `Cascade(guidance_interval=...)` with None for an open bound."""

    def parse(_ctx, _param, value):
        if value is None:
            return None
        if any(math.isnan(b) for b in value):
            raise UserError(f"--guidance-interval must be two numbers (log-SNR; inf for no bound), got {value}")
        if value[0] >= value[1]:
            raise UserError(f"--guidance-interval LO HI needs LO < HI, got {value[0]:g} {value[1]:g}")
        from openimagen.cascade.config import check_interval   # -inf / inf -> None (no bound), as in configs

        return check_interval(value)

    return click.option("--guidance-interval", nargs=2, type=float, default=None, metavar="LO HI", callback=parse,
                        help="Guide only at log-SNR in [LO, HI] (w = 1 elsewhere; -inf / inf = no bound; "
                             "Kynkaanniemi et al. 2024).  [default: the model's]")
