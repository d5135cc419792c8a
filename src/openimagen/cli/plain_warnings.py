"""Library warnings on the command line: one plain `warning: ...` line each, not Python's file:line format."""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

__all__ = ["plain_warnings"]


@contextmanager
def plain_warnings():
    """Library warnings as one `warning: ...` line each on stderr (no source line); cut captions said once."""
    from tqdm.auto import tqdm

    from openimagen.text import TruncationWarning

    said = []

    def show(message, category, *_args, **_kwargs) -> None:
        if issubclass(category, TruncationWarning):
            if said:
                return
            said.append(category)
            message = f"{message}; the long captions of later batches are cut the same way"
        tqdm.write(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
