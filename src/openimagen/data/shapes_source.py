"""Source 4: the shapes world (`openimagen.data.shapes`) through the same protocol.

A list of scene specs (a prompts JSONL file read by `shapes.spec.load_prompts`) is visited like any indexed
source; each draw renders its spec at the stage resolution with a layout seeded by (seed, draw), so every epoch
shows new placements of the same prompts, and a resumed run renders exactly the same pictures.
"""
from __future__ import annotations

from typing import Any

from .indexed import IndexedStream, Sample
from .preprocess import Preprocess

MIN_RENDER_SIZE = 16                                                 # the renderer's smallest canvas
LAYOUT_RETRIES = 32                                                  # other layout seeds for a crowded draw
DEFAULT_PER_CATEGORY = 1000                                          # bare "shapes": 7000 training prompts


class ShapesStream(IndexedStream):
    """Renders specs on the fly: {"image": rendered scene, "caption": spec.prompt, "key": "shapes/<i>"}."""

    def __init__(self, specs: list, preprocess: Preprocess, *, source: str = "shapes", **kwargs):
        samples = [Sample(path=f"{source}#{i}", caption=spec.prompt, key=f"shapes/{i}") for i, spec in enumerate(specs)]
        super().__init__(samples, preprocess, name=f"shapes:{source}", **kwargs)
        self.specs = list(specs)

    def payload(self, sample: Sample, draw: int):
        from .shapes.render import render
        from .shapes.spec import SpecError
        index = int(sample.key.rsplit("/", 1)[1])
        size = max(MIN_RENDER_SIZE, self.preprocess.resolution)
        base = self.seed * 1_000_003 + draw
        for retry in range(LAYOUT_RETRIES):   # the layout is a seeded random search: a crowded scene may need another
            try:
                return render(self.specs[index], size=size, seed=base + retry * 10**12)   # retry 0: the draw's own seed
            except SpecError as error:
                failure = error
        raise SpecError(f"{self.name}: prompt {index} could not be laid out with {LAYOUT_RETRIES} seeds ({failure}); "
                        "name fewer large objects in it or drop it from the prompts file")


def build_shapes_stream(options: dict[str, Any], preprocess: Preprocess, *, shuffle: bool = True,
                        **common) -> ShapesStream:
    """`{"type": "shapes", "prompts": "specs.jsonl"}` -> a stream of rendered scenes and their prompts;
    without "prompts", the world's own training split: {"type": "shapes", "per_category": 1000, "seed": 0}
    (the bare string "shapes"), generated deterministically (docs/shapes.md)."""
    unknown = set(options) - {"prompts", "per_category", "seed"}
    if unknown:
        raise ValueError(f"data source 'shapes': unknown option(s) {sorted(unknown)}; "
                         "allowed: ['per_category', 'prompts', 'seed']")
    if "prompts" in options:
        if len(options) > 1:
            raise ValueError("data source 'shapes': give either 'prompts' (a specs file) or 'per_category'/'seed' "
                             "(generated training prompts), not both")
        from .shapes.spec import load_prompts
        return ShapesStream(load_prompts(options["prompts"]), preprocess, source=str(options["prompts"]),
                            shuffle=shuffle, **common)
    from .shapes.world import make_specs
    per_category, seed = options.get("per_category", DEFAULT_PER_CATEGORY), options.get("seed", 0)
    if not isinstance(per_category, int) or per_category < 1:
        raise ValueError(f"data source 'shapes': per_category must be a positive integer, got {per_category!r}")
    specs = make_specs("train", per_category, seed, unique=False)
    return ShapesStream(specs, preprocess, source=f"train-split:{per_category}x{seed}", shuffle=shuffle, **common)
