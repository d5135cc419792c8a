"""An automatic rater for shapes-world runs: for each prompt, the run whose images pass the exact judge
(docs/judge.md) more often is preferred on the caption question; equal pass rates are 'indifferent'. The judge
checks alignment only, so the quality question is left to people."""

from __future__ import annotations

import logging

from tqdm.auto import tqdm

from openimagen.data.shapes.spec import Spec, SpecError
from openimagen.eval.image_sets import load_rgb
from openimagen.eval.judge import judge
from openimagen.rate.pairing import PairingError, RunPair, image_problem, left_run
from openimagen.rate.store import VoteStore

RATER = "auto-judge"
logger = logging.getLogger("openimagen.rate")


def pass_rate(pair: RunPair, run: str, index: int, spec: Spec) -> float:
    """Share of the run's images for this prompt that pass every check (missing or unreadable images fail)."""
    paths = pair.images(run, index)
    passed = 0
    for path in paths:
        if image_problem(path):
            logger.warning("%s: %s, counted as failing", path, image_problem(path))
            continue
        passed += judge(load_rgb(path), spec).passed
    return passed / max(len(paths), 1)


def judged_specs(pair: RunPair) -> list[Spec]:
    """The shapes-world spec of every prompt of the pair; PairingError naming the first prompt without a usable one
    (checked before any vote database is opened)."""
    missing = [p.index for p in pair.prompts if p.spec is None]
    if missing:
        raise PairingError(f"--auto-judge needs shapes-world prompts (a spec per prompt, as in a prompts JSONL of the "
                           f"shapes world); prompt {missing[0]} of RUN_A has none")
    try:
        return [Spec.from_dict(prompt.spec, f"prompt {prompt.index} of RUN_A") for prompt in pair.prompts]
    except SpecError as error:
        raise PairingError(f"--auto-judge: {error}") from error


def auto_judge(pair: RunPair, store: VoteStore, progress: bool = False) -> int:
    """Votes of the judge for every prompt (alignment question); returns how many new votes were stored."""
    specs = judged_specs(pair)
    stored = 0
    for prompt, spec in tqdm(list(zip(pair.prompts, specs)), unit="prompt", desc="auto-judge", disable=not progress):
        a, b = (pass_rate(pair, run, prompt.index, spec) for run in ("A", "B"))
        answer = "A" if a > b else "B" if b > a else "indifferent"
        stored += store.record(RATER, prompt.index, prompt.prompt, prompt.category,
                               left_run(store.salt, RATER, prompt.index), {"alignment": answer})
    return stored
