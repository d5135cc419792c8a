"""Run a tiny stage-1 training in a subprocess (for the SIGKILL-resume and distributed tests; not a test module).

usage: python train_driver.py OUT_DIR DATA_DIR MAX_STEPS BATCH [MICRO] [SLOW_AFTER_STEP]
(env DRIVER_MAX_MINUTES: a time budget, train.max_minutes; DRIVER_FULL_DISK=1: every checkpoint write fails as on
a full disk)
Trains through `openimagen.train.train` (so a finished run exports OUT_DIR/cascade), logs at INFO, writes
OUT_DIR/params-rank{R}.safetensors (the final raw weights seen by each process, full tensors under FSDP too) and prints
"<distributed type> rank R holds N parameters, last loss L" (N: this process's shard).
"""

import logging
import os
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.distributed.tensor import DTensor

sys.path.insert(0, str(Path(__file__).parent))
from cascade_helpers import WordEncoder  # noqa: E402

from openimagen.cascade import TextEmbedder  # noqa: E402
from openimagen.train import run, stage_run, trainer  # noqa: E402
from openimagen.train.checkpoint import CheckpointWriteError  # noqa: E402
from openimagen.train.config import config_from_dict  # noqa: E402
from openimagen.train.sharding import gather_full  # noqa: E402
from openimagen.train.accelerator import make_accelerator  # noqa: E402


def main() -> None:
    out, data_dir, max_steps, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    micro = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "-" else None
    slow_after = int(sys.argv[6]) if len(sys.argv) > 6 else None
    torch.set_num_threads(1)  # same reduction order in every process layout
    logging.basicConfig(level=logging.INFO)
    config = config_from_dict({
        "cascade": {"stages": [{"resolution": 8, "network": "tiny-test-base", "steps": 2}]},
        "train": {"output_dir": out, "max_steps": max_steps, "batch_size": batch, "micro_batch_size": micro,
                  "lr": 1e-3, "checkpoint_every": 2, "keep_last": 10, "progress": False, "cond_drop_prob": 0.5,
                  **({"max_minutes": float(os.environ["DRIVER_MAX_MINUTES"])} if "DRIVER_MAX_MINUTES" in os.environ
                     else {})},
        "data": {"source": data_dir}})
    accelerator = make_accelerator()
    embedder = TextEmbedder(encoder=WordEncoder())
    if slow_after is not None:  # give the test time to SIGKILL us after checkpoint `slow_after` is written
        loss = stage_run.StageLoss.__call__

        def slow(self, model, batch):
            if len(list((Path(out) / "stage-1" / "checkpoints").glob("step-*"))) * 2 >= slow_after:
                time.sleep(0.5)
            return loss(self, model, batch)
        stage_run.StageLoss.__call__ = slow
    if os.environ.get("DRIVER_FULL_DISK"):      # only the main process writes checkpoints
        def full_disk(root, step, *args, **kwargs):
            raise CheckpointWriteError(f"cannot write checkpoint step-{step:08d} in {root} (No space left on device)")
        trainer.save_checkpoint = full_disk
    result = run.train(config, [1], accelerator, embedder)[1]
    held = sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel() for p in result.model.parameters())
    sys.stdout.write(f"{accelerator.distributed_type.value} rank {accelerator.process_index} holds {held} "
                     f"parameters, last loss {result.last_loss}\n")   # one write: the ranks share the pipe
    params = gather_full(result.model.state_dict(), keep=True)
    save_file({k: v.contiguous() for k, v in params.items()},
              str(Path(out) / f"params-rank{accelerator.process_index}.safetensors"))


if __name__ == "__main__":
    main()
