"""What a training run shows: a tqdm bar (loss, img/s, ETA), TensorBoard scalars and EMA sample grids (main rank)."""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from openimagen.files import save_image_atomic

__all__ = ["Feedback", "image_grid"]

logger = logging.getLogger(__name__)


def image_grid(images: list[Image.Image], columns: int | None = None) -> Image.Image:
    """Tile equally sized PIL images row-major into one image."""
    if not images:
        raise ValueError("image_grid needs at least one image")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    grid = Image.new("RGB", (columns * width, rows * height))
    for i, image in enumerate(images):
        grid.paste(image.convert("RGB"), ((i % columns) * width, (i // columns) * height))
    return grid


class Feedback:
    """Progress bar + TensorBoard writer, both only on the main process. A disk error while writing TensorBoard
    events or a sample grid (a full disk) is one warning, and training goes on without them: a checkpoint that
    cannot be written stops the run with its own one-line error."""

    def __init__(self, run_dir: Path, max_steps: int, start_step: int, accelerator, progress: bool = True) -> None:
        self.main = accelerator.is_main_process
        self.bar = tqdm(total=max_steps, initial=start_step, disable=not (progress and self.main), unit="step",
                        dynamic_ncols=True)
        self.writer, self.tb_dir = None, Path(run_dir) / "tb"
        self._previous_hook = threading.excepthook
        if self.main:
            threading.excepthook = self._quiet_writer_thread
            self._tensorboard(self._open_writer)
        self.images_seen, self.seconds = 0, 0.0

    def _open_writer(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.tb_dir))

    def _quiet_writer_thread(self, args) -> None:
        """TensorBoard's writer thread dies on a disk error with a traceback; the next write raises it again in the
        main thread, where `_tensorboard` turns it into one warning."""
        if not (issubclass(args.exc_type, OSError) and type(args.thread).__module__.startswith("tensorboard.")):
            self._previous_hook(args)

    def _tensorboard(self, write: Callable[[], None]) -> None:
        """One TensorBoard call; on a disk error, warn naming tb/ and stop logging to TensorBoard."""
        try:
            write()
        except OSError as error:
            logger.warning(f"TensorBoard logging to {self.tb_dir} stopped ({error.strerror or error}); training "
                           "goes on")
            self.writer = None

    def __enter__(self) -> "Feedback":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
        if self.writer:
            self._tensorboard(self.writer.close)
        if self.main:
            threading.excepthook = self._previous_hook

    @property
    def rate(self) -> float:
        """Images per second of optimizer steps so far (checkpointing and sampling excluded)."""
        return self.images_seen / max(self.seconds, 1e-9)

    def step(self, step: int, loss: float, grad_norm: float, images: int, seconds: float, lr: float,
             skipped: int, log: bool, minutes_left: float | None = None) -> None:
        """Record one optimizer step; `images` counts all processes; `minutes_left` of a time budget, if any (the
        bar's ETA counts steps, which a budget may cut short)."""
        self.images_seen += images
        self.seconds += seconds
        rate = self.rate
        self.bar.update(1)
        budget = {} if minutes_left is None else {"budget_left": f"{max(minutes_left, 0.0):.1f}min"}
        self.bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{rate:.1f}", **budget, refresh=False)
        if log and self.writer:
            scalars = {"loss": loss, "lr": lr, "grad_norm": grad_norm, "images_per_s": rate, "skipped_steps": skipped}
            self._tensorboard(lambda: self._add_scalars(scalars, step))

    def _add_scalars(self, scalars: dict[str, float], step: int) -> None:
        for name, value in scalars.items():
            self.writer.add_scalar(f"train/{name}", value, step)

    def sample_grid(self, step: int, sample_fn: Callable, ema_model: torch.nn.Module, out_dir: Path) -> Path | None:
        """Sample from the EMA weights, save `samples-step-N.png` in `out_dir`, log it to TensorBoard."""
        if not self.main:
            return None
        with torch.no_grad():
            grid = image_grid(sample_fn(ema_model))
        path = out_dir / f"samples-step-{step:08d}.png"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            save_image_atomic(grid, path)
        except OSError as error:
            logger.warning(f"cannot write the sample grid {path} ({error.strerror or error}); training goes on")
            path = None
        if self.writer:
            self._tensorboard(lambda: self.writer.add_image("samples/ema", np.asarray(grid), step, dataformats="HWC"))
        return path
