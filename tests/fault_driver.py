"""Run a tiny stage-1 training in a subprocess with injected faults (for the fault tests; not a test module).

usage: python fault_driver.py SPEC_JSON
SPEC: {"out": dir, "data": dir, "train": {TrainConfig overrides}, "data_config": {DataConfig overrides},
       "network": preset or table, "sleep": seconds per loss call, "nan_loss": {"rank": r, "step": s}}
Writes OUT/result-rank{R}.json ({"step", "interrupted", "skipped"}) and OUT/params-rank{R}.safetensors.
"""

import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from cascade_helpers import WordEncoder  # noqa: E402

from openimagen.cascade import TextEmbedder  # noqa: E402
from openimagen.train import stage_run  # noqa: E402
from openimagen.train.config import config_from_dict  # noqa: E402
from openimagen.train.accelerator import make_accelerator  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    out = Path(spec["out"])
    torch.set_num_threads(1)
    config = config_from_dict({
        "cascade": {"stages": [{"resolution": 8, "network": spec.get("network", "tiny-test-base"), "steps": 2}]},
        "train": {"output_dir": str(out), "max_steps": 8, "batch_size": 4, "lr": 1e-3, "checkpoint_every": 2,
                  "keep_last": 10, "progress": False, "cond_drop_prob": 0.5, **spec.get("train", {})},
        "data": {"source": spec["data"], **spec.get("data_config", {})}})
    accelerator = make_accelerator()
    rank = accelerator.process_index
    loss = stage_run.StageLoss.__call__
    calls = {"n": 0}

    def faulty(self, model, batch):
        calls["n"] += 1
        time.sleep(spec.get("sleep", 0.0))
        losses = loss(self, model, batch)
        nan = spec.get("nan_loss")
        if nan and nan["rank"] == rank and calls["n"] == nan["step"]:
            losses = losses + float("nan")      # a non-finite loss whose gradient is finite
        return losses
    stage_run.StageLoss.__call__ = faulty
    result = stage_run.train_stage(config, 1, accelerator, TextEmbedder(encoder=WordEncoder()))
    save_file({k: v.contiguous() for k, v in result.model.state_dict().items()},
              str(out / f"params-rank{rank}.safetensors"))
    (out / f"result-rank{rank}.json").write_text(json.dumps(
        {"step": result.step, "interrupted": result.interrupted, "skipped": result.skipped_steps}))


if __name__ == "__main__":
    main()
