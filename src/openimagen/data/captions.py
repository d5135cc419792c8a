"""Caption text as every source gives it to training: one line, no byte-order mark, single spaces."""
from __future__ import annotations

BOM = "\ufeff"


def without_bom(text: str) -> str:
    """`text` without a leading UTF-8 byte-order mark (Notepad and Excel's "CSV UTF-8" write one)."""
    return text[1:] if text.startswith(BOM) else text


def clean_caption(text: str) -> str:
    """A caption with its BOM removed and every whitespace run (line breaks, CRLF, tabs, repeated spaces) made one
    space, stripped: the same words give the same caption (and embedding-cache entry) whatever the file's layout."""
    return " ".join(without_bom(text).split())
