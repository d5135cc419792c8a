"""Which saved cascade a command uses: `--model DIR` or the model shipped in the package, with one clear error each
way it can be missing. Reads only config.json here; loading the weights is `Cascade.from_pretrained`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from openimagen.cli import UserError

__all__ = ["SHIPPED_MODEL", "resolve_model", "is_shipped", "read_saved_config", "model_fingerprint"]

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "shapes-cascade"
_WRITE_ONE = "a folder written by Cascade.save_pretrained or by `openimagen train` (OUTPUT_DIR/cascade)"


def resolve_model(model: str | None) -> Path:
    """The model folder: `model` if given, else the shipped one. UserError if it is not a saved cascade."""
    if model is None:
        if not (SHIPPED_MODEL / "config.json").is_file():
            raise UserError(f"the shipped model is not installed: {SHIPPED_MODEL} has no config.json (this build of "
                            f"openimagen has no trained default model yet); pass --model DIR, {_WRITE_ONE}")
        return SHIPPED_MODEL
    folder = Path(model).expanduser()
    if not folder.exists():
        raise UserError(f"--model {model}: no such folder; pass {_WRITE_ONE}")
    if not folder.is_dir():
        raise UserError(f"--model {model} is a file, not a folder; pass {_WRITE_ONE}")
    if not (folder / "config.json").is_file():
        raise UserError(f"--model {model}: not a saved cascade (no config.json); pass {_WRITE_ONE}")
    return folder


def is_shipped(folder: Path) -> bool:
    return folder.resolve() == SHIPPED_MODEL.resolve()


def read_saved_config(folder: Path) -> dict:
    """config.json of a saved cascade, its structure and the presence of every weights file checked
    (`openimagen.cascade.saved_folder`); each problem is one UserError naming the file."""
    from openimagen.cascade.saved_folder import ModelFolderError, read_saved_config as read_checked

    try:
        return read_checked(folder)
    except ModelFolderError as error:                     # the message names the file
        raise UserError(str(error)) from error
    except FileNotFoundError as error:
        raise UserError(f"--model {folder}: {error}") from error


def model_fingerprint(folder: Path, saved: dict) -> str:
    """12 hex digits of SHA-256 over config.json and the sampling weights (not the raw ones, not READMEs)."""
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for record in saved["stages"]:
        digest.update((folder / record["weights"]).read_bytes())
    return digest.hexdigest()[:12]
