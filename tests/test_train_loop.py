"""The generic training loop: LR schedule, EMA, accumulation, NaN skipping, resume, signals."""

import math
import os
import signal

import pytest
import torch

from openimagen.train.config import TrainConfig
from openimagen.train.ema import EMA, ema_decay_at
from openimagen.train.lr_schedule import lr_factor
from openimagen.train.trainer import Trainer, TrainingDiverged


class Regression:
    """y = x . (0, 1, 2, 3): a linear model can fit it exactly."""

    def __init__(self, n=64):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.arange(4.0)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i]}


class RegressionBatches:
    """The smallest BatchSource: consecutive slices of the data, position = micro-batches taken."""

    def __init__(self, data, micro):
        self.data, self.micro, self.taken = data, micro, 0

    def next_batch(self):
        start = self.taken * self.micro % len(self.data)
        self.taken += 1
        return {"x": self.data.x[start:start + self.micro], "y": self.data.y[start:start + self.micro]}

    def state_dict(self):
        return {"taken": self.taken}

    def load_state_dict(self, state):
        self.taken = state["taken"]


def squared_error(model, batch):
    return (model(batch["x"]).squeeze(-1) - batch["y"]) ** 2


def make_trainer(tmp_path, loss_fn=squared_error, micro=None, **overrides):
    settings = dict(output_dir=str(tmp_path), max_steps=20, batch_size=8, micro_batch_size=micro, lr=0.05,
                    checkpoint_every=1000, progress=False, warmup_steps=0)
    settings.update(overrides)
    config = TrainConfig(**settings)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    batches = RegressionBatches(Regression(), config.micro_batch_size or config.batch_size)
    return Trainer(model, loss_fn, batches, config, tmp_path), model


def test_lr_warmup_is_linear_then_cosine_reaches_min_ratio():
    assert [lr_factor(s, 4, 20) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert lr_factor(4, 4, 20, "cosine") == 1.0
    assert lr_factor(12, 4, 20, "cosine", 0.1) == pytest.approx(0.1 + 0.9 * 0.5)   # halfway: cos(pi/2) = 0
    assert lr_factor(20, 4, 20, "cosine", 0.1) == pytest.approx(0.1)


def test_a_time_budget_brings_the_cosine_forward_but_never_back():
    assert lr_factor(12, 4, 20, "cosine", 0.1, time_fraction=1.0) == pytest.approx(0.1)       # budget used: the floor
    assert lr_factor(8, 4, 20, "cosine", 0.0, time_fraction=0.5) == pytest.approx(0.5)        # time ahead of steps
    assert lr_factor(16, 4, 20, "cosine", 0.0, time_fraction=0.25) == lr_factor(16, 4, 20, "cosine")   # steps ahead
    assert lr_factor(2, 4, 20, "cosine", 0.0, time_fraction=0.9) == 0.75                      # warmup is by steps


class TickingClock:
    """A fake `time.perf_counter` that advances `seconds` at every call."""

    def __init__(self, seconds: float):
        self.now, self.seconds = 0.0, seconds

    def __call__(self) -> float:
        self.now += self.seconds
        return self.now


def time_budgeted_trainer(tmp_path, minutes):
    trainer, model = make_trainer(tmp_path, max_steps=1000, max_minutes=minutes, lr_schedule="cosine", lr=0.1,
                                  min_lr_ratio=0.1, checkpoint_every=4)
    trainer.clock = TickingClock(6.0)            # each step takes six seconds
    lrs, train_step = [], trainer.train_step
    trainer.train_step = lambda: (lrs.append(trainer.optimizer.param_groups[0]["lr"]), train_step())[1]
    return trainer, lrs


def test_a_time_budget_stops_the_run_and_the_cosine_follows_the_clock(tmp_path):
    trainer, lrs = time_budgeted_trainer(tmp_path, minutes=1.0)
    result = trainer.fit()
    assert result.step == 10 and not result.interrupted and result.checkpoint.name == "step-00000010"
    assert trainer.trained_seconds == pytest.approx(60.0)
    # the LR of step k (1-based) is set during step k-1 from the clock all processes agreed on after step k-2:
    # 6 (k - 2) of the 60 seconds; the steps' own progress (k / 1000) is far behind, so the cosine runs on time
    assert lrs == pytest.approx([0.1] + [0.1 * lr_factor(k - 1, 0, 1000, "cosine", 0.1, 6 * (k - 2) / 60)
                                         for k in range(2, 11)])
    assert lrs[-1] < 0.1 * lr_factor(9, 0, 1000, "cosine", 0.1) / 3


def test_the_time_budget_counts_the_time_of_earlier_sessions(tmp_path):
    time_budgeted_trainer(tmp_path, minutes=1.0)[0].fit()
    resumed, lrs = time_budgeted_trainer(tmp_path, minutes=2.0)   # a longer budget on resume: 60 s already used
    result = resumed.fit()
    assert result.step == 20 and resumed.trained_seconds == pytest.approx(120.0)
    assert lrs[0] == pytest.approx(0.1 * lr_factor(10, 0, 1000, "cosine", 0.1, 60 / 120))   # set on resume
    assert lrs[-1] == pytest.approx(0.1 * lr_factor(19, 0, 1000, "cosine", 0.1, 108 / 120))


def test_the_bar_shows_the_time_budget_left_only_when_there_is_one(tmp_path):
    from types import SimpleNamespace

    from openimagen.train.feedback import Feedback
    with Feedback(tmp_path, 100, 0, SimpleNamespace(is_main_process=True)) as feedback:
        feedback.step(1, 0.5, 1.0, 8, 0.1, 1e-3, 0, False, minutes_left=2.54)
        assert "budget_left=2.5min" in feedback.bar.postfix
        feedback.step(2, 0.5, 1.0, 8, 0.1, 1e-3, 0, False)
        assert "budget_left" not in feedback.bar.postfix


def test_ema_decay_warms_up_from_zero_and_is_capped():
    assert ema_decay_at(0, 0.999, 0.75) == 0.0
    assert ema_decay_at(15, 0.999, 0.75) == pytest.approx(1 - 16 ** -0.75)
    assert ema_decay_at(10**9, 0.999, 0.75) == 0.999
    assert ema_decay_at(0, 0.9, 0.0) == 0.9


def test_ema_with_constant_decay_is_the_closed_form_weighted_average():
    module = torch.nn.Linear(1, 1, bias=False)
    module.weight.data.fill_(0.0)
    ema = EMA(module, max_decay=0.5, warmup_power=0.0)
    for value in (1.0, 2.0, 3.0):
        module.weight.data.fill_(value)
        ema.update(module, step=0)
    # e3 = .5^3 * 0 + .5^3 * 1 + .5^2 * 2 + .5 * 3
    assert ema.shadow["weight"].item() == pytest.approx(0.125 + 0.5 + 1.5)


def test_training_fits_the_regression_and_lr_follows_the_schedule(tmp_path):
    trainer, model = make_trainer(tmp_path, max_steps=150, warmup_steps=5, lr_schedule="cosine", lr=0.1, grad_clip=0.0)
    result = trainer.fit()
    assert result.step == 150 and not result.interrupted
    assert torch.allclose(model.weight, torch.arange(4.0)[None], atol=0.1)
    assert trainer.scheduler.get_last_lr()[0] == pytest.approx(0.1 * lr_factor(150, 5, 150, "cosine"))


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    big, big_model = make_trainer(tmp_path / "big")
    small, small_model = make_trainer(tmp_path / "acc", micro=2)
    assert small.accumulation == 4
    big.fit()
    small.fit()
    assert torch.allclose(big_model.weight, small_model.weight, atol=1e-6)


def test_non_finite_steps_are_skipped_and_counted(tmp_path):
    calls = {"n": 0}

    def sometimes_nan(model, batch):
        calls["n"] += 1
        loss = squared_error(model, batch)
        return loss * float("nan") if calls["n"] in (3, 4) else loss

    trainer, model = make_trainer(tmp_path, sometimes_nan, max_steps=10)
    result = trainer.fit()
    assert result.step == 10 and result.skipped_steps == 2 and calls["n"] == 12
    assert torch.isfinite(model.weight).all()


def test_k_non_finite_steps_in_a_row_stop_the_run_with_a_clear_message(tmp_path):
    trainer, _ = make_trainer(tmp_path, lambda m, b: squared_error(m, b) * float("inf"), max_bad_steps=3)
    with pytest.raises(TrainingDiverged, match="3 steps in a row had a NaN/Inf"):
        trainer.fit()


def test_resume_from_a_checkpoint_continues_exactly(tmp_path):
    straight, straight_model = make_trainer(tmp_path / "a", max_steps=12)
    straight.fit()
    first, _ = make_trainer(tmp_path / "b", max_steps=5)
    first.fit()
    second, resumed_model = make_trainer(tmp_path / "b", max_steps=12)
    assert second.fit().step == 12
    assert torch.equal(straight_model.weight, resumed_model.weight)
    assert torch.equal(straight.ema.shadow["weight"], second.ema.shadow["weight"])


def sigterm_at_call(call: int, signals: int = 1):
    """A squared-error loss that sends this process `signals` SIGTERMs at its `call`-th call; -> (loss_fn, calls)."""
    calls = {"n": 0}

    def loss_fn(model, batch):
        calls["n"] += 1
        if calls["n"] == call:
            for _ in range(signals):
                os.kill(os.getpid(), signal.SIGTERM)
        return squared_error(model, batch)

    return loss_fn, calls


def test_sigterm_saves_a_checkpoint_and_stops_cleanly(tmp_path):
    term_at_third_step, _ = sigterm_at_call(3)
    trainer, _ = make_trainer(tmp_path, term_at_third_step, checkpoint_every=100)
    result = trainer.fit()
    assert result.interrupted and result.step == 3
    assert result.checkpoint.name == "step-00000003"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_sample_grid_png_is_written_beside_the_checkpoints(tmp_path):
    from PIL import Image

    trainer, _ = make_trainer(tmp_path, max_steps=4, sample_every=2)
    trainer.sample_fn = lambda ema_model: [Image.new("RGB", (8, 8), (int(10 * i), 0, 0)) for i in range(4)]
    trainer.fit()
    grids = sorted(p.name for p in (tmp_path / "checkpoints").glob("samples-step-*.png"))
    assert grids == ["samples-step-00000002.png", "samples-step-00000004.png"]
    assert Image.open(tmp_path / "checkpoints" / grids[0]).size == (16, 16)
    assert math.isfinite(trainer.scheduler.get_last_lr()[0])


@pytest.fixture
def fresh_accelerate_state():
    """Accelerate keeps one process-wide state; a different mixed precision needs it reset (tests only)."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_bf16_autocast_trains_with_fp32_master_weights(tmp_path, fresh_accelerate_state):
    trainer, model = make_trainer(tmp_path, max_steps=30, mixed_precision="bf16", lr=0.1, grad_clip=0.0)
    seen = []
    trainer.loss_fn = lambda m, b: seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu")
                                               ) or squared_error(m, b)
    result = trainer.fit()
    assert seen[0] == torch.bfloat16 and model.weight.dtype == torch.float32
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    reference, reference_model = make_trainer(tmp_path / "fp32", max_steps=30, lr=0.1, grad_clip=0.0)
    reference.fit()
    assert result.step == 30 and not torch.equal(model.weight, reference_model.weight)
    assert torch.allclose(model.weight, reference_model.weight, atol=0.05)   # same training, bf16 precision


def test_tensorboard_gets_loss_lr_grad_norm_and_throughput(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer, _ = make_trainer(tmp_path, max_steps=4, log_every=2, warmup_steps=4)
    trainer.fit()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/grad_norm", "train/images_per_s", "train/skipped_steps"} <= tags
    assert [e.step for e in events.Scalars("train/lr")] == [2, 4]
    assert events.Scalars("train/lr")[0].value == pytest.approx(0.05 * 3 / 4)   # warmup: after 2 steps, factor 3/4


def test_stream_batches_continue_the_global_sample_index_on_a_different_process_count(tmp_path):
    from openimagen.data import build_dataset
    from openimagen.data.synthetic import write_folder
    from openimagen.train.batches import StreamBatches

    write_folder(str(tmp_path), 6)
    ranks = [StreamBatches(build_dataset(str(tmp_path), 8, rank=r, world_size=2), 2, r, 2) for r in (0, 1)]
    taken = [rank.next_batch()["index"].tolist() for rank in ranks]          # one global batch of 4
    assert sorted(taken[0] + taken[1]) == [0, 1, 2, 3]
    alone = StreamBatches(build_dataset(str(tmp_path), 8), 2)
    alone.load_state_dict(ranks[0].state_dict())
    assert alone.next_batch()["index"].tolist() == [4, 5]


def test_an_lr_changed_on_resume_is_applied_and_saved_consistently(tmp_path):
    import json

    make_trainer(tmp_path, max_steps=4, lr=0.05)[0].fit()
    trainer, _ = make_trainer(tmp_path, max_steps=6, lr=0.01, weight_decay=0.1)
    trainer.resume()
    group = trainer.optimizer.param_groups[0]
    assert (group["lr"], group["initial_lr"], group["weight_decay"]) == (0.01, 0.01, 0.1)
    trainer.fit()
    state = json.loads((tmp_path / "checkpoints" / "step-00000006" / "state.json").read_text())
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.01 and state["scheduler"]["base_lrs"] == [0.01]


def test_the_trainer_steps_exactly_as_torchs_reference_adamw(tmp_path):
    """Fused AdamW (one kernel per step) gives the same weights as torch's for-loop AdamW fed the same gradients."""
    trainer, model = make_trainer(tmp_path, max_steps=15, lr=0.05, weight_decay=0.1, grad_clip=0.0)
    assert trainer.optimizer.optimizer.defaults["fused"]
    torch.manual_seed(0)
    reference = torch.nn.Linear(4, 1)
    optimizer = torch.optim.AdamW(reference.parameters(), lr=0.05, betas=trainer.config.adam_betas,
                                  eps=trainer.config.adam_eps, weight_decay=0.1, foreach=False)
    batches = RegressionBatches(Regression(), 8)
    for _ in range(15):
        squared_error(reference, batches.next_batch()).mean().backward()
        optimizer.step()
        optimizer.zero_grad()
    trainer.fit()
    assert torch.allclose(model.weight, reference.weight, atol=1e-6) and torch.allclose(model.bias, reference.bias,
                                                                                       atol=1e-6)
