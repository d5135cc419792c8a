"""Data position: a resumed run continues with exactly the batches an uninterrupted run would produce."""
import itertools
import json

import pytest
import torch

from openimagen.data import build_dataset, make_loader
from openimagen.data.synthetic import write_folder, write_shapes_prompts, write_shards


def _take(dataset, n, num_workers):
    batches = itertools.islice(make_loader(dataset, 2, num_workers=num_workers), n)
    return [(b["key"], b["image"]) for b in batches]


def _source(tmp_path, kind):
    if kind == "shapes":
        return {"type": "shapes", "prompts": write_shapes_prompts(tmp_path / "specs.jsonl")}
    if kind == "folder":
        write_folder(str(tmp_path), 7)
        return str(tmp_path)
    write_shards(str(tmp_path), 3, 3)                               # stream epochs of 6 and 3 samples
    return str(tmp_path / "{00000..00002}.tar")


@pytest.mark.parametrize("kind", ["folder", "shards", "shapes"])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_stop_and_resume_equals_an_uninterrupted_run(tmp_path, kind, num_workers):
    source = _source(tmp_path, kind)
    build = lambda: build_dataset(source, 8, random_crop=True, seed=5)   # noqa: E731
    straight = _take(build(), 8, num_workers)
    first_run = build()
    head = _take(first_run, 5, num_workers)                        # odd: resumes mid worker round-robin
    state = json.loads(json.dumps(first_run.state_dict()))         # survives a JSON checkpoint
    resumed = build()
    resumed.load_state_dict(state)
    tail = _take(resumed, 3, num_workers)
    assert [k for k, _ in head + tail] == [k for k, _ in straight]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(head + tail, straight))
    assert len({k for keys, _ in straight for k in keys}) == {"folder": 7, "shards": 9, "shapes": 2}[kind]


def test_plain_iteration_in_process_also_tracks_the_position(tmp_path):
    write_folder(str(tmp_path), 5)
    dataset = build_dataset(str(tmp_path), 8, seed=1)
    straight = [i["key"] for i in itertools.islice(build_dataset(str(tmp_path), 8, seed=1), 9)]
    head = [i["key"] for i in itertools.islice(dataset, 4)]
    tail = [i["key"] for i in itertools.islice(dataset, 5)]        # a new iterator continues, not restarts
    assert head + tail == straight


def test_resume_refuses_a_different_seed_or_worker_count(tmp_path):
    write_folder(str(tmp_path), 4)
    dataset = build_dataset(str(tmp_path), 8, seed=1)
    _take(dataset, 3, num_workers=2)
    state = dataset.state_dict()
    with pytest.raises(ValueError, match="seed=1"):
        build_dataset(str(tmp_path), 8, seed=2).load_state_dict(state)
    other = build_dataset(str(tmp_path), 8, seed=1)
    other.load_state_dict(state)
    with pytest.raises(ValueError, match="resume with the same num_workers"):
        _take(other, 1, num_workers=0)


def test_a_position_saved_by_two_processes_continues_on_one_with_the_next_global_draw(tmp_path):
    write_folder(str(tmp_path), 7)
    straight = [i["key"] for i in itertools.islice(build_dataset(str(tmp_path), 8, seed=3), 14)]
    rank0, rank1 = (build_dataset(str(tmp_path), 8, seed=3, rank=r, world_size=2) for r in (0, 1))
    for rank in (rank0, rank1):
        list(itertools.islice(rank, 5))                             # global draws 0..9 between them
    resumed = build_dataset(str(tmp_path), 8, seed=3)
    resumed.load_state_dict(json.loads(json.dumps(rank0.state_dict())))
    assert [i["key"] for i in itertools.islice(resumed, 4)] == straight[10:14]


def test_a_world_size_change_that_cannot_be_resplit_is_refused_with_the_reason(tmp_path):
    write_folder(str(tmp_path), 7)
    one = build_dataset(str(tmp_path), 8, seed=3)
    list(itertools.islice(one, 3))
    with pytest.raises(ValueError, match="saved by 1 process.*this run has 2.*3 draws done"):
        build_dataset(str(tmp_path), 8, seed=3, rank=0, world_size=2).load_state_dict(one.state_dict())
    write_shards(str(tmp_path / "shards"), 4, 3)
    shards = str(tmp_path / "shards" / "{00000..00003}.tar")
    two = build_dataset(shards, 8, rank=0, world_size=2)
    list(itertools.islice(two, 2))
    with pytest.raises(ValueError, match="saved by 2 process.*cannot be re-split.*resume with 2"):
        build_dataset(shards, 8).load_state_dict(two.state_dict())


@pytest.mark.parametrize("num_workers", [0, 2])
def test_starting_the_loader_draws_nothing_from_the_global_torch_generator(tmp_path, num_workers):
    write_folder(str(tmp_path), 4)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    _take(build_dataset(str(tmp_path), 8, seed=1), 1, num_workers)
    assert torch.equal(torch.get_rng_state(), before)   # else dropout after a resume differs from a straight run


def test_a_batch_size_change_with_loader_workers_is_refused_on_resume(tmp_path):
    write_folder(str(tmp_path), 6)
    first = build_dataset(str(tmp_path), 8, seed=1)
    _take(first, 3, num_workers=2)
    resumed = build_dataset(str(tmp_path), 8, seed=1)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    with pytest.raises(ValueError, match="saved with batch size 2 .*you asked for 3"):
        next(iter(make_loader(resumed, 3, num_workers=2)))
