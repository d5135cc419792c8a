"""scripts/reweight_prompts.py: named categories kept whole, the rest thinned to about the asked share, nothing new."""
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reweight_prompts.py"
spec = importlib.util.spec_from_file_location("reweight_prompts", SCRIPT)
reweight_prompts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reweight_prompts)


def write_rows(path, per_category=400):
    rows = [{"prompt": f"{category} {i}", "category": category}
            for i in range(per_category) for category in ("colors", "counting", "compound")]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rows


def test_keeps_named_categories_whole_and_thins_the_rest(tmp_path):
    rows = write_rows(tmp_path / "in.jsonl")
    reweight_prompts.main([str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), "--keep", "compound", "counting",
                           "--rest", "0.25", "--seed", "3"])
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    counts = Counter(row["category"] for row in out)
    assert counts["compound"] == counts["counting"] == 400
    assert 70 <= counts["colors"] <= 130                      # Binomial(400, 0.25): mean 100, sd 8.7
    assert len({row["prompt"] for row in out}) == len(out)    # no duplicates
    assert {row["prompt"] for row in out} <= {row["prompt"] for row in rows}
    kept = {row["prompt"] for row in out}
    assert [row["prompt"] for row in out] != [row["prompt"] for row in rows if row["prompt"] in kept]  # shuffled
    assert not (tmp_path / "out.jsonl.tmp").exists()


def test_seeded_and_rest_bounds(tmp_path):
    rows = write_rows(tmp_path / "in.jsonl", per_category=50)
    first = reweight_prompts.reweight(rows, {"compound"}, 0.5, seed=1)
    assert first == reweight_prompts.reweight(rows, {"compound"}, 0.5, seed=1)
    assert first != reweight_prompts.reweight(rows, {"compound"}, 0.5, seed=2)
    assert len(reweight_prompts.reweight(rows, {"compound"}, 0.0, seed=1)) == 50
    assert len(reweight_prompts.reweight(rows, {"compound"}, 1.0, seed=1)) == 150


def test_bad_inputs_name_the_problem(tmp_path, capsys):
    write_rows(tmp_path / "in.jsonl", per_category=5)
    with pytest.raises(SystemExit, match="sizes"):
        reweight_prompts.main([str(tmp_path / "in.jsonl"), str(tmp_path / "o.jsonl"), "--keep", "sizes", "--rest", "0.5"])
    with pytest.raises(SystemExit):
        reweight_prompts.main([str(tmp_path / "in.jsonl"), str(tmp_path / "o.jsonl"), "--keep", "colors", "--rest", "2"])
    assert "--rest must be in [0, 1]" in capsys.readouterr().err
    (tmp_path / "bad.jsonl").write_text('{"prompt": "x"}\n')
    with pytest.raises(SystemExit, match="bad.jsonl:1: no 'category'"):
        reweight_prompts.main([str(tmp_path / "bad.jsonl"), str(tmp_path / "o.jsonl"), "--keep", "colors", "--rest", "0.5"])
    assert not (tmp_path / "o.jsonl").exists()
