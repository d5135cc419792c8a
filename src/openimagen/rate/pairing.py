"""Two run folders of the same prompts, shown blinded: per rater, a random prompt order and, per prompt, a random
choice of which run is on the left (both derived from a secret salt in the ratings database, so a rater who comes
back sees the same layout and resumes where they left off)."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from openimagen.eval.drawbench import BenchPrompt, PromptsError, image_path, read_run_prompts


class PairingError(ValueError):
    """Two runs that cannot be compared; the message names the difference."""


@dataclass(frozen=True)
class RunPair:
    run_a: Path
    run_b: Path
    prompts: list[BenchPrompt]
    images_per_prompt: dict[str, int]             # 'A' / 'B' -> images per prompt

    def folder(self, run: str) -> Path:
        return self.run_a if run == "A" else self.run_b

    def images(self, run: str, prompt_index: int) -> list[Path]:
        return [image_path(self.folder(run), prompt_index, k) for k in range(self.images_per_prompt[run])]


def open_pair(run_a: str | Path, run_b: str | Path) -> RunPair:
    """Both runs, refused with a message naming the difference unless they hold the same prompts."""
    try:
        prompts = {"A": read_run_prompts(run_a), "B": read_run_prompts(run_b)}
    except (PromptsError, OSError, ValueError, KeyError) as error:
        raise PairingError(str(error)) from error
    a, b = prompts["A"], prompts["B"]
    if len(a) != len(b):
        raise PairingError(f"the runs hold different prompts: RUN_A {run_a} has {len(a)}, RUN_B {run_b} has {len(b)}")
    for first, second in zip(a, b):
        if (first.prompt, first.category) != (second.prompt, second.category):
            raise PairingError(f"the runs hold different prompts: prompt {first.index} is {first.prompt!r} "
                               f"({first.category}) in RUN_A {run_a} but {second.prompt!r} ({second.category}) in "
                               f"RUN_B {run_b}")
    return RunPair(Path(run_a), Path(run_b), a, {"A": images_per_prompt(run_a), "B": images_per_prompt(run_b)})


def images_per_prompt(run: str | Path) -> int:
    """From run.json, else the largest image index present + 1."""
    record = Path(run) / "run.json"
    if record.is_file():
        return int(json.loads(record.read_text(encoding="utf-8"))["images_per_prompt"])
    names = [p.stem.split("-")[1] for p in (Path(run) / "images").glob("*-*.png")]
    return max((int(k) for k in names if k.isdigit()), default=-1) + 1


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def left_run(salt: str, rater: str, prompt_index: int) -> str:
    """'A' or 'B': the run shown on the left to this rater for this prompt (a fair coin per rater and prompt)."""
    return "A" if _digest(salt, rater, prompt_index)[0] & 1 else "B"


def prompt_order(salt: str, rater: str, count: int) -> list[int]:
    """This rater's order of the prompt indices 0..count-1 (random, fixed for the rater)."""
    order = list(range(count))
    random.Random(_digest(salt, "order", rater)).shuffle(order)
    return order


def image_problem(path: Path) -> str | None:
    """None if `path` is a readable image, else a short reason ('missing', 'unreadable')."""
    if not path.is_file():
        return "missing"
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return "unreadable"
    return None
