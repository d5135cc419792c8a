"""Where `openimagen sample` writes: the -o path checked before sampling, one PNG per image (written as soon as its
batch is done, so an interrupted run keeps every finished image) or one grid, each PNG with its recipe record."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from openimagen import __version__
from openimagen.cli import UserError
from openimagen.cli.model_folder import is_shipped
from openimagen.cli.pngmeta import save_png
from openimagen.cli.recipe import Recipe, make_grid
from openimagen.files import probe_folder

__all__ = ["check_output", "output_paths", "SampleWriter"]


def check_output(out: Path) -> None:
    if out.suffix.lower() != ".png":
        raise UserError(f"-o {out}: the output must be a .png file (its text metadata stores the recipe)")
    folder = out.parent
    if not folder.is_dir():
        raise UserError(f"-o {out}: the folder {folder} does not exist (or is not a folder); create it first")
    if out.is_dir():
        raise UserError(f"-o {out} is a folder; give a file name such as {out / 'sample.png'}")
    try:                                  # probe before sampling: permissions, read-only file systems, root or not
        probe_folder(folder, create=False)
    except OSError as error:
        raise UserError(f"-o {out}: cannot write to {folder} ({error.strerror or error}); "
                        "choose another path") from error


def output_paths(out: Path, count: int) -> list[Path]:
    """out.png for one image, else out-000.png, out-001.png, ..."""
    if count == 1:
        return [out]
    width = max(3, len(str(count - 1)))
    return [out.with_name(f"{out.stem}-{index:0{width}d}{out.suffix}") for index in range(count)]


def sample_record(recipe: Recipe, folder: Path, fingerprint: str, image: int | str, prompt,
                  extra: dict | None = None) -> dict:
    import torch

    return {"format": "openimagen-sample", "version": 1, "prompt": prompt, "image": image, "recipe": recipe.to_dict(),
            "model": str(folder.resolve()), "shipped_model": is_shipped(folder),
            "model_fingerprint": fingerprint, "openimagen": __version__, "torch": torch.__version__, **(extra or {})}


class SampleWriter:
    """Writes the images of one recipe: `which` None = every image to its own file (batch by batch, via
    `on_batch`), "grid" = one grid at `finish`, an int = that one image of the recipe (a `--from-png` re-run).
    `extra` is merged into every record (e.g. `openimagen edit`'s format and inputs)."""

    def __init__(self, out: Path, recipe: Recipe, folder: Path, fingerprint: str, which: int | str | None,
                 extra: dict | None = None) -> None:
        self.out, self.recipe, self.folder, self.fingerprint, self.which = out, recipe, folder, fingerprint, which
        self.extra = extra
        self.total = len(recipe.prompts) * recipe.num_images
        self.paths = output_paths(out, self.total) if which is None else [out]
        self.written: list[Path] = []
        self.size = ""                                # "64x64" of the images written

    def on_batch(self, first: int, images: list[Image.Image]) -> None:
        if self.which is None:
            for index, image in enumerate(images, start=first):
                self._save(image, self.paths[index], index)

    def finish(self, images: list[Image.Image]) -> None:
        if self.which == "grid":
            self._save(make_grid(images, self.recipe.num_images), self.out, "grid")
        elif self.which is not None:
            self._save(images[int(self.which)], self.out, int(self.which))

    def summary(self) -> str:
        """`out.png`, or `out-000.png ... out-047.png (48 files)`."""
        if len(self.written) <= 3:
            return ", ".join(map(str, self.written))
        return f"{self.written[0]} ... {self.written[-1]} ({len(self.written)} files)"

    def _save(self, image: Image.Image, path: Path, index: int | str) -> None:
        prompts = self.recipe.prompts
        prompt = prompts if index == "grid" else prompts[index // self.recipe.num_images]
        try:
            self.size = f"{image.width}x{image.height}"
            self.written.append(save_png(image, path, sample_record(self.recipe, self.folder, self.fingerprint,
                                                                    index, prompt, self.extra)))
        except OSError as error:
            raise UserError(f"-o {path}: cannot write the PNG ({error.strerror or error})") from error
