"""A sampling recipe: everything besides the weights that fixes the pixels of an `openimagen sample` call, resolved
against the model's per-stage defaults, and its JSON form (stored in every PNG so it can be re-run exactly)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from openimagen.cascade import Cascade, CascadeConfig

__all__ = ["Recipe", "resolve_settings", "run_recipe", "make_grid"]


@dataclass
class Recipe:
    prompts: list[str]
    num_images: int                  # per prompt; outputs are prompt-major
    seed: int
    settings: dict[int, dict]        # stage (1-based) -> sampler, steps, guidance_scale, threshold, percentile,
                                     # aug_level (fully resolved: independent of the model's defaults)
    stop_at_stage: int
    max_batch_size: int              # images sampled together; part of the recipe (each chunk has its own generator)
    threads: int                     # torch intra-op threads; kept so a re-run uses the same CPU kernels

    def to_dict(self) -> dict:
        data = asdict(self)
        data["settings"] = {str(stage): values for stage, values in self.settings.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Recipe":
        names = {f.name for f in fields(cls)}
        missing = sorted(names - set(data))
        if missing:
            raise ValueError(f"the sampling record lacks {missing}; was it written by `openimagen sample`?")
        values = {name: data[name] for name in names}
        values["settings"] = {int(stage): dict(s) for stage, s in data["settings"].items()}
        return cls(**values)


def resolve_settings(config: CascadeConfig, stop_at_stage: int, **shared) -> dict[int, dict]:
    """Per-stage settings of stages 1..stop_at_stage: the stage's own defaults, then the non-None `shared` values."""
    given = {key: value for key, value in shared.items() if value is not None}
    return {number: {**config.stages[number - 1].sampling_defaults(), **given}
            for number in range(1, stop_at_stage + 1)}


def run_recipe(cascade: Cascade, recipe: Recipe, progress: bool = False, on_batch=None) -> list[Image.Image]:
    """The images of the recipe, prompt-major (the caller sets torch's thread count); `on_batch` as in Cascade."""
    return cascade(recipe.prompts, num_images_per_prompt=recipe.num_images, seed=recipe.seed,
                   stage_overrides=recipe.settings, stop_at_stage=recipe.stop_at_stage,
                   max_batch_size=recipe.max_batch_size, progress=progress, on_batch=on_batch)


def make_grid(images: list[Image.Image], columns: int) -> Image.Image:
    """Images (equal sizes) laid out row by row, `columns` per row: one row per prompt when columns = num_images."""
    width, height = images[0].size
    rows = -(-len(images) // columns)
    grid = Image.new("RGB", (columns * width, rows * height))
    for index, image in enumerate(images):
        grid.paste(image, ((index % columns) * width, (index // columns) * height))
    return grid
