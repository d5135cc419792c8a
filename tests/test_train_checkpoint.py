"""Checkpoints: safetensors + JSON only, atomic directories, last N kept, exact optimizer/RNG round trips."""

import json
import random

import numpy as np
import pytest
import torch

from openimagen.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from openimagen.train.state_codec import (capture_rng, flatten_optimizer_state, restore_rng,
                                          unflatten_optimizer_state)


def adam_steps(model, optimizer, n, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(8, 4, generator=g)
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()


def test_adamw_state_survives_flatten_to_safetensors_and_json(tmp_path):
    torch.manual_seed(0)
    a = torch.nn.Linear(4, 3)
    opt_a = torch.optim.AdamW(a.parameters(), lr=1e-2, betas=(0.8, 0.95))
    adam_steps(a, opt_a, 3, seed=1)
    tensors, meta = flatten_optimizer_state(opt_a.state_dict())
    path = save_checkpoint(tmp_path, 3, {"model": a.state_dict(), "optimizer": tensors}, {"optimizer": meta})
    loaded, state = load_checkpoint(path)
    b = torch.nn.Linear(4, 3)
    b.load_state_dict(loaded["model"])
    opt_b = torch.optim.AdamW(b.parameters(), lr=5.0)
    opt_b.load_state_dict(unflatten_optimizer_state(loaded["optimizer"], json.loads(json.dumps(state["optimizer"]))))
    assert opt_b.param_groups[0]["betas"] == (0.8, 0.95) and opt_b.param_groups[0]["lr"] == 1e-2
    adam_steps(a, opt_a, 2, seed=2)
    adam_steps(b, opt_b, 2, seed=2)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_checkpoint_files_are_safetensors_and_json_only(tmp_path):
    path = save_checkpoint(tmp_path, 7, {"model": {"w": torch.ones(2)}}, {"note": "x"})
    assert sorted(p.name for p in path.iterdir()) == ["model.safetensors", "state.json"]
    assert json.loads((path / "state.json").read_text())["step"] == 7


def test_only_the_last_n_complete_checkpoints_are_kept_and_temp_dirs_are_ignored(tmp_path):
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, {"model": {"w": torch.full((1,), float(step))}}, {}, keep_last=2)
    (tmp_path / ".tmp-step-00000009-123").mkdir()   # a crash mid-write
    (tmp_path / "step-00000008").mkdir()            # renamed but no state.json: not complete
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000003", "step-00000004"]
    tensors, state = load_checkpoint(latest_checkpoint(tmp_path))
    assert state["step"] == 4 and tensors["model"]["w"].item() == 4.0


def test_resaving_the_same_step_replaces_it(tmp_path):
    save_checkpoint(tmp_path, 5, {"model": {"w": torch.zeros(1)}}, {})
    save_checkpoint(tmp_path, 5, {"model": {"w": torch.ones(1)}}, {})
    assert load_checkpoint(tmp_path / "step-00000005")[0]["model"]["w"].item() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["step-00000005"]


def test_loading_a_non_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a checkpoint directory"):
        load_checkpoint(tmp_path)


def test_rng_capture_and_restore_replays_torch_numpy_and_python(tmp_path):
    tensors, meta = capture_rng()
    path = save_checkpoint(tmp_path, 1, {"rng": tensors}, {"rng": meta})
    first = (torch.rand(3), np.random.rand(3), random.random())
    loaded, state = load_checkpoint(path)
    restore_rng(loaded["rng"], state["rng"])
    second = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1]) and first[2] == second[2]


def _overwrite_one_tensor_with_1000(file):
    """In-place corruption with plausible values: same size, valid header, one tensor's bytes = 1000.0."""
    data = bytearray(file.read_bytes())
    header = 8 + int.from_bytes(data[:8], "little")
    start, end = json.loads(data[8:header])["weight"]["data_offsets"]
    data[header + start:header + end] = torch.full(((end - start) // 4,), 1000.0).numpy().tobytes()
    file.write_bytes(bytes(data))


DAMAGE = {
    "truncated tensors": ("model.safetensors", lambda f: f.write_bytes(f.read_bytes()[:100])),
    "zeroed tensors": ("model.safetensors", lambda f: f.write_bytes(bytes(f.stat().st_size))),
    "tensor = 1000.0": ("model.safetensors", _overwrite_one_tensor_with_1000),
    "missing optimizer": ("optimizer.safetensors", lambda f: f.unlink()),
    "truncated state": ("state.json", lambda f: f.write_text(f.read_text()[:50])),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_resume_names_a_damaged_newest_checkpoint_and_falls_back_to_the_previous(tmp_path, caplog, damage):
    from test_train_loop import make_trainer

    make_trainer(tmp_path, max_steps=4, checkpoint_every=2)[0].fit()
    name, harm = DAMAGE[damage]
    harm(tmp_path / "checkpoints" / "step-00000004" / name)
    trainer, _ = make_trainer(tmp_path, max_steps=4, checkpoint_every=2)
    with caplog.at_level("WARNING"):
        path = trainer.resume()
    assert path.name == "step-00000002" and trainer.step == 2
    assert f"step-00000004/{name}" in caplog.text


def test_checkpoint_files_are_readable_like_any_file_the_user_asked_for(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"model": {"w": torch.ones(2)}}, {})
    assert {oct(p.stat().st_mode & 0o777) for p in path.iterdir()} == {oct(0o666 & ~_umask())}


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_damaged_checkpoint_skipped_on_resume_is_set_aside_not_kept_over_an_intact_one(tmp_path, caplog):
    from test_train_loop import make_trainer

    make_trainer(tmp_path, max_steps=3, checkpoint_every=2, keep_last=2)[0].fit()      # step-2, step-3 (final)
    DAMAGE["truncated tensors"][1](tmp_path / "checkpoints" / "step-00000003" / "model.safetensors")
    with caplog.at_level("WARNING"):
        result = make_trainer(tmp_path, max_steps=4, checkpoint_every=4, keep_last=2)[0].fit()
    assert result.step == 4 and "damaged-step-00000003" in caplog.text
    checkpoints = tmp_path / "checkpoints"
    assert [p.name for p in list_checkpoints(checkpoints)] == ["step-00000002", "step-00000004"]
    assert (checkpoints / "damaged-step-00000003" / "model.safetensors").is_file()
