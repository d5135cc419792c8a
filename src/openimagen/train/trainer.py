"""The training loop on Hugging Face Accelerate: AdamW, warmup + constant/cosine LR, clipping, EMA, accumulation,
autocast, NaN/Inf skipping, atomic checkpoints with auto-resume, SIGTERM/SIGINT save-and-exit, feedback.

The loop knows nothing about diffusion: it asks `loss_fn(model, batch) -> per-sample losses [b]` and a `BatchSource`
for the next micro-batch. Randomness inside the loss should be keyed by the sample (see `SampleRandom`), so a run
gives the same result on any number of processes and after any resume.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DistributedType, broadcast_object_list

from openimagen.train.accelerator import make_accelerator
from openimagen.train.checkpoint import (CheckpointWriteError, load_checkpoint, load_latest_good_checkpoint,
                                         remove_stale_temp_dirs, save_checkpoint, set_aside_newer_checkpoints)
from openimagen.train.config import TrainConfig
from openimagen.train.ema import EMA
from openimagen.train.feedback import Feedback
from openimagen.train.lr_schedule import lr_factor
from openimagen.train.run_lock import RunLock, RunLocked
from openimagen.train.sharding import gather_full, shard_like
from openimagen.train.state_codec import capture_rng, flatten_optimizer_state, restore_rng, unflatten_optimizer_state

__all__ = ["Trainer", "TrainResult", "TrainingDiverged", "BatchSource"]

logger = get_logger(__name__)


class TrainingDiverged(RuntimeError):
    """K optimizer steps in a row had a NaN/Inf loss or gradient."""


class BatchSource(Protocol):
    """Yields this process's micro-batches in a deterministic order; its state is the data position."""

    def next_batch(self) -> dict: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


@dataclass
class TrainResult:
    step: int                   # optimizer steps done
    skipped_steps: int          # NaN/Inf steps skipped in this process's lifetime
    interrupted: bool           # stopped by SIGTERM/SIGINT (a checkpoint was saved)
    checkpoint: Path | None     # the last checkpoint written or loaded
    last_loss: float
    model: torch.nn.Module | None = None  # the trained network (raw weights, sharded under FSDP; EMA in the checkpoint)
    images_per_second: float = 0.0        # training throughput of this process's lifetime, all processes
    data_skips: str = ""                  # the data pipeline's summary of unusable inputs ("" if none)


class _StopFlag:
    """Sets a flag on SIGTERM/SIGINT instead of dying, so the loop can save at a step boundary. A second signal
    (the step or the data never finishes, or the user insists) exits at once with 128 + signal, saving nothing."""

    def __init__(self) -> None:
        self.raised: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread: leave the handlers alone
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.raised is not None:
            logger.warning(f"second signal ({signal.Signals(signum).name}): exiting without a checkpoint",
                           main_process_only=False)
            raise SystemExit(128 + signum)
        self.raised = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains `model` with `loss_fn` on `batches`; checkpoints go to `run_dir/checkpoints`, TensorBoard to `run_dir/tb`.

    `sample_fn(ema_model) -> list[PIL.Image]` (optional) draws the periodic sample grid from the EMA weights.
    Build the model under the same seed on every process (DDP also broadcasts rank 0's weights). Under FSDP (version 2)
    the model, its EMA and the optimizer state are sharded in place; checkpoints hold full tensors all the same.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module, dict], torch.Tensor],
                 batches: BatchSource, config: TrainConfig, run_dir: str | Path,
                 accelerator: Accelerator | None = None, sample_fn: Callable | None = None,
                 extra_state: dict | None = None) -> None:
        self.config, self.loss_fn, self.batches, self.sample_fn = config, loss_fn, batches, sample_fn
        self.run_dir = Path(run_dir)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.accelerator = accelerator or make_accelerator(config.mixed_precision)
        self.accumulation = config.accumulation_steps(self.accelerator.num_processes)
        self.extra_state = extra_state or {}
        self.trained_seconds, self.clock = 0.0, time.perf_counter   # training time so far (all sessions of the run)
        torch.manual_seed(config.seed + self.accelerator.process_index)  # per-rank seed for anything unkeyed
        self.raw_model = model
        self.sharded = self.accelerator.distributed_type == DistributedType.FSDP
        if self.sharded and not getattr(self.accelerator, "is_fsdp2", False):
            raise ValueError("FSDP version 1 is not supported: launch with `accelerate launch --use_fsdp "
                             "--fsdp_version 2` (docs/training.md)")
        # sample grids under FSDP: an unsharded copy of the network (main process, on the CPU) to copy for sampling
        self.unsharded_copy = copy.deepcopy(model).cpu() if self.sharded and sample_fn is not None else None
        # one fused kernel per step where torch has one (CPU, CUDA: ~3x faster than foreach here); not for DTensors
        fused = not self.sharded and all(p.device.type in ("cpu", "cuda") for p in model.parameters())
        kernel = {"fused": True} if fused else {"foreach": True}
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.adam_betas, eps=config.adam_eps,
                                      weight_decay=config.weight_decay, **kernel)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
        if config.compile:
            model = torch.compile(model)
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        self.ema = EMA(self.raw_model, config.ema_decay, config.ema_warmup_power)  # sharded like the model (FSDP)
        self.step, self.skipped, self.bad_in_a_row = 0, 0, 0
        # under torchrun / accelerate launch: the launcher's pid, to stop (and save) if it dies (e.g. SIGKILLed)
        self.launcher_pid = os.getppid() if "TORCHELASTIC_RUN_ID" in os.environ else None

    def _lr_factor(self, step: int) -> float:
        c = self.config
        return lr_factor(step, c.warmup_steps, c.max_steps, c.lr_schedule, c.min_lr_ratio, self._time_fraction())

    def _time_fraction(self) -> float:
        """The share of `max_minutes` used (0 without a time budget)."""
        return self.trained_seconds / (60.0 * self.config.max_minutes) if self.config.max_minutes else 0.0

    # ---- checkpoints -------------------------------------------------------------------------------------------
    def save(self) -> Path:
        """Every process calls this (under FSDP they gather the full tensors); the main process writes the
        checkpoint; every process waits for it and gets its path, or its CheckpointWriteError (a full disk): no
        process is left waiting for a checkpoint that will never come."""
        path = self.checkpoint_dir / f"step-{self.step:08d}"
        main, failure = self.accelerator.is_main_process, None
        opt_tensors, opt_meta = flatten_optimizer_state(self.optimizer.state_dict())
        tensors = {"model": gather_full(self.raw_model.state_dict(), main),
                   "ema": gather_full(self.ema.state_dict(), main), "optimizer": gather_full(opt_tensors, main)}
        if main:
            rng_tensors, rng_meta = capture_rng()
            state = {"optimizer": opt_meta, "rng": rng_meta, "data": self.batches.state_dict(),
                     "scheduler": {k: v for k, v in self.scheduler.state_dict().items() if k != "lr_lambdas"},
                     "skipped_steps": self.skipped, "trained_seconds": self.trained_seconds, "extra": self.extra_state}
            tensors["rng"] = rng_tensors
            try:
                path = save_checkpoint(self.checkpoint_dir, self.step, tensors, state, self.config.keep_last)
            except CheckpointWriteError as error:
                failure = error
            else:
                logger.info(f"saved checkpoint {path}")
        message = self._from_main(None if failure is None else str(failure))
        if failure is not None:
            raise failure
        if message is not None:
            raise CheckpointWriteError(message)
        return path

    def _from_main(self, value):
        """The main process's `value` on every process; a collective, so every process waits for the main one."""
        if self.accelerator.num_processes == 1:
            return value
        return broadcast_object_list([value], from_process=0)[0]

    def resume(self) -> Path | None:
        """Load the checkpoint named by `config.resume` ("auto" = latest in run_dir, "never", or a directory)."""
        if self.config.resume == "never":
            return None
        if self.config.resume == "auto":     # the newest intact one: damaged newer ones are named and skipped
            found = load_latest_good_checkpoint(self.checkpoint_dir)
            if found is None:
                return None
            path, tensors, state = found
            self._set_aside_damaged(path)
        else:
            path = Path(self.config.resume)
            tensors, state = load_checkpoint(path)
        self.raw_model.load_state_dict(shard_like(tensors["model"], self.raw_model.state_dict()))
        self.ema.load_state_dict(shard_like(tensors["ema"], self.ema.shadow))
        params = [p for group in self.optimizer.param_groups for p in group["params"]]  # "state.<index>.<key>"
        optimizer = shard_like(tensors["optimizer"], {k: params[int(k.split(".")[1])] for k in tensors["optimizer"]})
        self.optimizer.load_state_dict(unflatten_optimizer_state(optimizer, state["optimizer"]))
        self.scheduler.load_state_dict({**state["scheduler"], "lr_lambdas": [None]})
        self.batches.load_state_dict(state["data"])
        if self.accelerator.is_main_process:  # only rank 0's global RNG was saved; others re-derive their seeds
            restore_rng(tensors["rng"], state["rng"])
        self.step, self.skipped = state["step"], state["skipped_steps"]
        self.trained_seconds = state.get("trained_seconds", 0.0)        # older checkpoints: the clock starts now
        self._apply_optimizer_config()
        logger.info(f"resumed from {path} at step {self.step}")
        return path

    def _set_aside_damaged(self, resumed: Path) -> None:
        """The checkpoints newer than the one resumed from are damaged: the main process renames them (once every
        rank has loaded), so that `keep_last` never deletes an intact checkpoint and keeps a damaged one."""
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            for path in set_aside_newer_checkpoints(self.checkpoint_dir, resumed):
                logger.warning(f"renamed the damaged checkpoint to {path}; delete it when you no longer need it")
        self.accelerator.wait_for_everyone()

    def _apply_optimizer_config(self) -> None:
        """After loading a checkpoint: the config's lr, betas, eps and weight decay win over the saved ones (an
        override such as `--set train.lr=...` on resume), and the current LR follows the config's schedule."""
        c = self.config
        wanted = {"initial_lr": c.lr, "betas": tuple(c.adam_betas), "eps": c.adam_eps, "weight_decay": c.weight_decay}
        changes = set()
        for group in self.optimizer.param_groups:
            for key, value in wanted.items():
                if (tuple(group[key]) if key == "betas" else group[key]) != value:
                    changes.add(f"{'lr' if key == 'initial_lr' else key} {group[key]} -> {value}")
                    group[key] = value
            group["lr"] = c.lr * self._lr_factor(self.scheduler.last_epoch)
        self.scheduler.base_lrs = [c.lr] * len(self.optimizer.param_groups)
        self.scheduler._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        if changes:
            logger.info(f"resume: the config changed the optimizer: {', '.join(sorted(changes))}")

    # ---- one optimizer step -------------------------------------------------------------------------------------
    def train_step(self) -> tuple[float, float, int]:
        """Accumulate micro-batches, clip, step (or skip if not finite). Returns (loss, grad_norm, images)."""
        total, images = 0.0, 0
        for k in range(self.accumulation):
            batch = self.batches.next_batch()
            sync = k == self.accumulation - 1
            with (contextlib.nullcontext() if sync else self.accelerator.no_sync(self.model)):
                with self.accelerator.autocast():
                    losses = self.loss_fn(self.model, batch)
                loss = losses.float().mean() / self.accumulation
                self.accelerator.backward(loss)
            total += loss.item()
            images += losses.shape[0]
        max_norm = self.config.grad_clip or math.inf
        grad_norm = float(self.accelerator.clip_grad_norm_(self.model.parameters(), max_norm))
        if self._all_finite(total, grad_norm):
            self.optimizer.step()
            self.scheduler.step()
            self.ema.update(self.raw_model, self.step)
            self.step += 1
            self.bad_in_a_row = 0
        else:
            self.skipped += 1
            self.bad_in_a_row += 1
            logger.warning(f"step {self.step}: non-finite loss/grad (loss={total}, grad_norm={grad_norm}); skipped",
                           main_process_only=False)
            if self.bad_in_a_row >= self.config.max_bad_steps:
                raise TrainingDiverged(
                    f"{self.bad_in_a_row} steps in a row had a NaN/Inf loss or gradient (at step {self.step}); "
                    f"lower train.lr, raise train.warmup_steps, set train.grad_clip, or try mixed_precision='no'")
        self.optimizer.zero_grad(set_to_none=True)
        return total, grad_norm, images

    def _all_finite(self, loss: float, grad_norm: float) -> bool:
        """One decision for all processes: a rank whose own loss is NaN (its gradient may still be finite) makes
        every rank skip the step, so they never disagree on the step count (and never wait on each other)."""
        bad = torch.tensor([0.0 if math.isfinite(loss) and math.isfinite(grad_norm) else 1.0],
                           device=self.accelerator.device)
        if self.accelerator.num_processes > 1:
            bad = self.accelerator.reduce(bad, reduction="sum")
        return bool(bad.item() == 0)

    def _launcher_gone(self) -> bool:
        if self.launcher_pid is None or os.getppid() == self.launcher_pid:
            return False
        logger.warning(f"the launcher (pid {self.launcher_pid}) is gone; saving and stopping", main_process_only=False)
        self.launcher_pid = None
        return True

    def _agree_after_step(self, flag: _StopFlag, trained_seconds: float) -> bool:
        """One exchange between the processes after each step: returns whether any got a stop signal, and sets
        `trained_seconds` to their mean, so that every rank sees the same time budget (and LR)."""
        if self._launcher_gone():
            flag.raised = signal.SIGHUP
        shared = torch.tensor([1.0 if flag.raised is not None else 0.0, trained_seconds], dtype=torch.float64)
        if self.accelerator.num_processes > 1:
            shared = self.accelerator.reduce(shared, reduction="mean")
        self.trained_seconds = shared[1].item()
        return bool(shared[0].item() > 0)

    def _out_of_time(self) -> bool:
        return self._time_fraction() >= 1.0

    def ema_model(self) -> torch.nn.Module | None:
        """A copy of the network holding the EMA weights, in eval mode. Under FSDP every process must call it (the
        EMA shards are gathered) and only the main process gets the copy."""
        if not self.sharded:
            model = copy.deepcopy(self.raw_model).eval()
            self.ema.copy_to(model)
            return model
        shadow = gather_full(self.ema.state_dict(), keep=self.unsharded_copy is not None)
        if self.unsharded_copy is None:
            return None
        model = copy.deepcopy(self.unsharded_copy).to(self.accelerator.device).eval()
        self.ema.copy_to(model, shadow)
        return model

    def fit(self) -> TrainResult:
        """Train until `config.max_steps` (resuming first), or until SIGTERM/SIGINT; saves a final checkpoint."""
        try:
            with self._exclusive_run_dir():
                return self._fit()
        finally:
            close = getattr(self.batches, "close", None)   # stop loader workers before the process exits
            if close is not None:
                close()

    @contextlib.contextmanager
    def _exclusive_run_dir(self):
        """The main process locks run_dir (another trainer there is refused on every rank), then removes temp
        directories of saves that a killed process left behind."""
        lock, error = contextlib.nullcontext(), None
        if self.accelerator.is_main_process:
            try:
                lock = RunLock(self.run_dir).__enter__()
            except RunLocked as locked:
                error = locked
        failed = torch.tensor([1.0 if error else 0.0], device=self.accelerator.device)
        if self.accelerator.num_processes > 1:
            failed = self.accelerator.reduce(failed, reduction="sum")
        if error is not None:
            raise error
        if failed.item():
            raise RunLocked(f"{self.run_dir} is in use by another trainer (see the main process)")
        try:
            if self.accelerator.is_main_process:
                for stale in remove_stale_temp_dirs(self.checkpoint_dir):
                    logger.info(f"removed {stale}, left by a save that was killed")
            yield
        finally:
            lock.__exit__(None, None, None)

    def _fit(self) -> TrainResult:
        checkpoint = self.resume()
        loss = float("nan")
        c = self.config
        feedback = Feedback(self.run_dir, c.max_steps, self.step, self.accelerator, c.progress)
        started, trained_before = self.clock(), self.trained_seconds
        with _StopFlag() as flag, feedback:
            while self.step < c.max_steps and not self._out_of_time():
                tick = time.perf_counter()
                before = self.step
                loss, grad_norm, images = self.train_step()
                stepped = self.step != before  # False for a skipped non-finite step (same on every rank)
                log = stepped and self.step % c.log_every == 0
                if log and self.accelerator.num_processes > 1:  # log the loss of the whole global batch
                    loss = self.accelerator.reduce(torch.tensor([loss]), reduction="mean").item()
                if stepped:
                    left = c.max_minutes - self.trained_seconds / 60 if c.max_minutes else None
                    feedback.step(self.step, loss, grad_norm, images * self.accelerator.num_processes,
                                  time.perf_counter() - tick, self.scheduler.get_last_lr()[0], self.skipped, log, left)
                if self._agree_after_step(flag, trained_before + self.clock() - started):
                    checkpoint = self.save()
                    logger.warning(f"stopped by signal at step {self.step}; checkpoint saved; rerun to resume")
                    return TrainResult(self.step, self.skipped, True, checkpoint, loss, self.raw_model, feedback.rate)
                if not stepped:
                    continue
                if self.step % c.checkpoint_every == 0 or self.step == c.max_steps:
                    checkpoint = self.save()
                if c.sample_every and (self.step % c.sample_every == 0 or self.step == c.max_steps):
                    ema_model = self.ema_model() if self.sample_fn or self.sharded else None
                    if self.sample_fn:
                        feedback.sample_grid(self.step, self.sample_fn, ema_model, self.checkpoint_dir)
        if self._out_of_time() and self.step < c.max_steps:
            logger.info(f"time budget of {c.max_minutes} min reached at step {self.step}")
        if checkpoint is None or checkpoint.name != f"step-{self.step:08d}":
            checkpoint = self.save()
        return TrainResult(self.step, self.skipped, False, checkpoint, loss, self.raw_model, feedback.rate)
