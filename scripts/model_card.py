"""Record how a cascade folder was made and how it scores: provenance.json and metrics.json in the folder, which
`openimagen info` shows.

    python scripts/model_card.py src/openimagen/models/shapes-cascade --config configs/shapes-cascade.toml \
        --run 1=runs/phase-a/stage-1 --run 1=runs/phase-b/stage-1 --run 2=runs/shapes-cascade/stage-2 \
        --bench eval=bench/eval --bench heldout=bench/heldout --command "openimagen train ..."

provenance.json: the config file's text, the commands, per stage the run's final step and wall time (from its
TensorBoard logs, scripts/training_time.py; a stage trained in phases, each starting from the last one's export, is
given one --run per phase, in order), the git commit and the date. metrics.json: per bench split, alignment,
per-category and per-requirement rates, FD_shapes and its floor, and the sampling settings used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_time import process_rows  # noqa: E402

from openimagen.files import write_text_atomic  # noqa: E402


def pairs(items: list[str], what: str) -> dict[str, list[Path]]:
    """`KEY=PATH` items grouped by key, in the order given."""
    out: dict[str, list[Path]] = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key or not value:
            raise SystemExit(f"--{what} {item!r}: expected KEY=PATH")
        out.setdefault(key, []).append(Path(value))
    return out


def run_record(stage_dir: Path) -> dict:
    rows = process_rows(stage_dir / "tb")
    if not rows:
        raise SystemExit(f"{stage_dir}/tb: no TensorBoard logs; pass a run's stage-N folder")
    return {"final_step": max(r["to_step"] for r in rows), "wall_min": round(sum(r["wall_s"] for r in rows) / 60, 1),
            "processes": rows}


def stage_record(stage_dirs: list[Path], kept: dict | None = None) -> dict:
    """One run, or several runs in order (each fine-tuning the previous one's export): steps and minutes add up.
    `kept`: an earlier record of the stage (its run folders gone) that these runs continue."""
    if len(stage_dirs) == 1 and kept is None:
        return run_record(stage_dirs[0])
    earlier = [] if kept is None else kept.get("phases") or [{"run": "(earlier record)", **kept}]
    phases = earlier + [{"run": str(d), **run_record(d)} for d in stage_dirs]
    return {"final_step": sum(p["final_step"] for p in phases),
            "wall_min": round(sum(p["wall_min"] for p in phases), 1), "phases": phases}


def bench_record(bench_dir: Path) -> dict:
    metrics = json.loads((bench_dir / "metrics.json").read_text())
    keep = ("alignment", "passed", "images", "prompts", "images_per_prompt", "categories", "requirements", "fd_shapes",
            "settings")
    return {k: metrics[k] for k in keep if k in metrics}


def kept_entries(path: Path, keys: list[str], what: str, field: str | None = None) -> dict:
    """The entries `keys` of the folder's existing JSON file `path` (its `field` if given); a missing one is an error."""
    found = json.loads(path.read_text()) if keys and path.is_file() else {}
    found = found.get(field, {}) if field else found
    missing = sorted(set(keys) - set(found))
    if missing:
        raise SystemExit(f"{path}: no {what} {missing} to keep")
    return {key: found[key] for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--run", action="append", default=[], metavar="STAGE=DIR")
    parser.add_argument("--bench", action="append", default=[], metavar="SPLIT=DIR")
    parser.add_argument("--command", action="append", default=[])
    parser.add_argument("--note", default="")
    parser.add_argument("--keep-stage", action="append", default=[], metavar="STAGE",
                        help="keep this stage's record from the folder's existing provenance.json (a stage whose "
                             "weights are unchanged and whose run folder is gone); with --run for the same stage, "
                             "the runs are appended to it as later phases")
    parser.add_argument("--keep-bench", action="append", default=[], metavar="SPLIT",
                        help="keep this split's figures from the folder's existing metrics.json (a stage whose "
                             "weights are unchanged and whose bench folder is gone)")
    args = parser.parse_args()
    if not (args.model / "config.json").is_file():
        raise SystemExit(f"{args.model}: not a cascade folder (no config.json)")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    stages = kept_entries(args.model / "provenance.json", args.keep_stage, "record of stage(s)", field="stages")
    stages.update({k: stage_record(v, stages.get(k)) for k, v in pairs(args.run, "run").items()})
    provenance = {
        "trained_with": "openimagen train", "config_file": str(args.config), "config": args.config.read_text(),
        "commands": args.command, "stages": dict(sorted(stages.items())),
        "git_commit": commit or None, "date": datetime.date.today().isoformat(), "note": args.note,
    }
    kept_metrics = kept_entries(args.model / "metrics.json", args.keep_bench, "figures of split(s)")
    metrics = {split: bench_record(paths[-1]) for split, paths in pairs(args.bench, "bench").items()}
    metrics.update({split: figures for split, figures in kept_metrics.items() if split not in metrics})
    write_text_atomic(args.model / "provenance.json", json.dumps(provenance, indent=1) + "\n")
    if metrics:
        write_text_atomic(args.model / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    print(f"wrote {args.model}/provenance.json" + (" and metrics.json" if metrics else ""))


if __name__ == "__main__":
    main()
