"""Checks of the prompts before sampling: text that is UTF-8, within the encoder's token limit, and mostly known
to its tokenizer. Refusals are one UserError line naming the prompt; an unknown-token prompt only warns."""

from __future__ import annotations

import click

from openimagen.cli import UserError

__all__ = ["check_prompts_are_utf8", "check_prompt_lengths", "note_empty_prompts", "warn_unknown_prompts"]

UNKNOWN_SHARE = 0.5              # warn when at least this share of a prompt's tokens is the unknown token


def _short(prompt: str) -> str:
    return prompt if len(prompt) <= 40 else prompt[:37] + "..."


def check_prompts_are_utf8(prompts: list[str]) -> None:
    """A prompt given as bytes that are not UTF-8 reaches Python as lone surrogates (PEP 383): refuse it, naming it."""
    for number, prompt in enumerate(prompts, start=1):
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(prompt[error.start])
            what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"character U+{code:04X}"
            raise UserError(f"prompt {number} is not UTF-8 text ({what}); set the terminal's encoding to UTF-8 "
                            "(e.g. LANG=C.UTF-8) or retype the prompt") from None


def note_empty_prompts(prompts: list[str]) -> None:
    """An empty prompt is Imagen's null caption (an unconditional sample), which is also what an unset shell
    variable gives: sample it, but say so on stderr."""
    for number, prompt in enumerate(prompts, start=1):
        if not prompt.strip():
            click.echo(f"note: prompt {number} is empty, so its image is unconditional (no text, no guidance); "
                       "if you meant to give text, check the quoting", err=True)


def check_prompt_lengths(encoder, prompts: list[str]) -> None:
    """A prompt longer than the encoder reads would be cut silently: refuse it, naming the prompt and the limit."""
    tokenizer = getattr(encoder, "tokenizer", None)
    if tokenizer is None:
        return
    for number, prompt in enumerate(prompts, start=1):
        count = len(tokenizer(prompt)["input_ids"])
        if count > encoder.max_length:
            raise UserError(f"prompt {number} ({_short(prompt)!r}) is {count} tokens long, but the model's text "
                            f"encoder reads at most {encoder.max_length}; shorten it")


def warn_unknown_prompts(encoder, prompts: list[str]) -> None:
    """A prompt the tokenizer mostly maps to its unknown token (emoji, scripts outside its vocabulary) conditions
    the image on almost nothing: say so on stderr."""
    tokenizer = getattr(encoder, "tokenizer", None)
    unknown = getattr(tokenizer, "unk_token_id", None)
    if unknown is None:
        return
    for number, prompt in enumerate(prompts, start=1):
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        count = sum(token == unknown for token in ids)
        if ids and count >= UNKNOWN_SHARE * len(ids):
            click.echo(f"warning: prompt {number} ({_short(prompt)!r}) is mostly unknown to the text encoder ({count} "
                       f"of {len(ids)} tokens are {tokenizer.unk_token}); the image will barely depend on it", err=True)
