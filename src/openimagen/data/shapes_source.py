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


class ShapesStream(IndexedStream):
    """Renders specs on the fly: {"image": rendered scene, "caption": spec.prompt, "key": "shapes/<i>"}."""

    def __init__(self, specs: list, preprocess: Preprocess, *, source: str = "shapes", **kwargs):
        samples = [Sample(path=f"{source}#{i}", caption=spec.prompt, key=f"shapes/{i}") for i, spec in enumerate(specs)]
        super().__init__(samples, preprocess, name=f"shapes:{source}", **kwargs)
        self.specs = list(specs)

    def payload(self, sample: Sample, draw: int):
        from .shapes.render import render
        index = int(sample.key.rsplit("/", 1)[1])
        size = max(MIN_RENDER_SIZE, self.preprocess.resolution)
        return render(self.specs[index], size=size, seed=self.seed * 1_000_003 + draw)


def build_shapes_stream(options: dict[str, Any], preprocess: Preprocess, *, shuffle: bool = True,
                        **common) -> ShapesStream:
    """`{"type": "shapes", "prompts": "specs.jsonl"}` -> a stream of rendered scenes and their prompts."""
    unknown = set(options) - {"prompts"}
    if unknown:
        raise ValueError(f"data source 'shapes': unknown option(s) {sorted(unknown)}; allowed: ['prompts']")
    if "prompts" not in options:
        raise ValueError("data source 'shapes' needs a prompts file of scene specs: "
                         "'shapes:specs.jsonl' or {'type': 'shapes', 'prompts': 'specs.jsonl'} (format: docs/shapes.md)")
    from .shapes.spec import load_prompts
    return ShapesStream(load_prompts(options["prompts"]), preprocess, source=str(options["prompts"]),
                        shuffle=shuffle, **common)
