"""How long a training run took, from its TensorBoard logs: one row per process (start, resume, ...), with the steps it
covered, its wall time and its median seconds per step, then the totals. Steps a resumed process trained again (work
lost when a process died between checkpoints) are counted in the wall time: it is what the run cost.

    python scripts/training_time.py runs/shapes-cascade/stage-1/tb [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def process_rows(tb_dir: Path, tag: str = "train/loss") -> list[dict]:
    rows = []
    for events in sorted(tb_dir.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag not in accumulator.Tags()["scalars"]:
            continue
        points = accumulator.Scalars(tag)
        if len(points) < 2:
            continue
        per_step = [(b.wall_time - a.wall_time) / (b.step - a.step) for a, b in zip(points, points[1:]) if b.step > a.step]
        # the first logged step comes one logging interval after the process started: count it at the median rate
        first_interval = points[1].step - points[0].step
        wall = points[-1].wall_time - points[0].wall_time + first_interval * statistics.median(per_step)
        rows.append({"file": events.name, "from_step": points[0].step - first_interval, "to_step": points[-1].step,
                     "wall_s": round(wall, 1), "median_s_per_step": round(statistics.median(per_step), 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tb_dir", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = process_rows(args.tb_dir)
    if not rows:
        raise SystemExit(f"{args.tb_dir}: no TensorBoard events with train/loss (is it a run's stage-N/tb folder?)")
    for row in rows:
        print(f"steps {row['from_step']:>5} -> {row['to_step']:>5}: {row['wall_s'] / 60:6.1f} min, "
              f"median {row['median_s_per_step']:.2f} s/step")
    total = {"wall_min": round(sum(r["wall_s"] for r in rows) / 60, 1), "last_step": max(r["to_step"] for r in rows),
             "steps_trained": sum(r["to_step"] - r["from_step"] for r in rows), "processes": rows}
    print(f"total: {total['wall_min']} min of wall time, {total['steps_trained']} steps trained "
          f"(final step {total['last_step']})")
    if args.json:
        args.json.write_text(json.dumps(total, indent=1) + "\n")


if __name__ == "__main__":
    main()
