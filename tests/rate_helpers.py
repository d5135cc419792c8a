"""Shared helpers for the rating-app tests (not a test module): run folders written directly (no model needed)."""

import json

from PIL import Image

PROMPTS = [("a red circle", "color"), ("two blue squares", "count"), ("a green star left of a cat", "position")]


def make_run(folder, color, prompts=PROMPTS, images_per_prompt=2, size=16):
    """A run folder as `openimagen drawbench generate` writes it, every image one flat `color`."""
    (folder / "images").mkdir(parents=True)
    rows = [{"index": i, "prompt": p, "category": c} for i, (p, c) in enumerate(prompts)]
    (folder / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "run.json").write_text(json.dumps({"images_per_prompt": images_per_prompt}))
    for i in range(len(prompts)):
        for k in range(images_per_prompt):
            Image.new("RGB", (size, size), color).save(folder / "images" / f"{i:04d}-{k}.png")
    return folder


def make_shapes_runs(tmp_path, count=3, images_per_prompt=2, size=32):
    """Two shapes-world runs of the same eval-split prompts: A the renderer's truth, B uniform noise."""
    import numpy as np

    from openimagen.data.shapes.render import render
    from openimagen.data.shapes.world import load_split

    specs = load_split("eval")[:count]
    rng = np.random.default_rng(0)
    runs = []
    for name in ("truth", "noise"):
        folder = tmp_path / name
        (folder / "images").mkdir(parents=True)
        rows = [{"index": i, "prompt": s.prompt, "category": s.category, "spec": s.to_dict()} for i, s in enumerate(specs)]
        (folder / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (folder / "run.json").write_text(json.dumps({"images_per_prompt": images_per_prompt}))
        for i, spec in enumerate(specs):
            for k in range(images_per_prompt):
                image = render(spec, size, seed=k) if name == "truth" else \
                    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
                image.save(folder / "images" / f"{i:04d}-{k}.png")
        runs.append(folder)
    return runs
