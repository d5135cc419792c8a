"""scripts/model_card.py: a stage's earlier record is kept and continued by a new phase; kept bench figures survive."""

import json
import subprocess
import sys
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "model_card.py"


def fake_run(stage_dir: Path, steps: int) -> None:
    writer = SummaryWriter(str(stage_dir / "tb"))
    for step in range(10, steps + 1, 10):
        writer.add_scalar("train/loss", 1.0 / step, step, walltime=1000.0 + step)   # 1 s per step
    writer.close()


def card(model: Path, *args: str) -> subprocess.CompletedProcess:
    config = model / "recipe.toml"
    config.write_text("[train]\n")
    return subprocess.run([sys.executable, str(SCRIPT), str(model), "--config", str(config), *args],
                          capture_output=True, text=True)


def test_keep_stage_and_bench_then_append_a_phase(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    earlier = {"final_step": 300, "wall_min": 7.0, "phases": [{"run": "a", "final_step": 100, "wall_min": 2.0},
                                                              {"run": "b", "final_step": 200, "wall_min": 5.0}]}
    single = {"final_step": 50, "wall_min": 1.0}                      # a record of one run, no phases
    (model / "provenance.json").write_text(json.dumps({"stages": {"1": earlier, "2": single, "3": {"final_step": 9}}}))
    sr = {"alignment": 0.99}
    (model / "metrics.json").write_text(json.dumps({"sr-eval": sr, "eval": {"alignment": 0.1}}))
    fake_run(tmp_path / "d", 120)
    fake_run(tmp_path / "e", 60)

    done = card(model, "--keep-stage", "1", "--keep-stage", "2", "--keep-stage", "3", "--run", f"1={tmp_path / 'd'}",
                "--run", f"2={tmp_path / 'e'}", "--keep-bench", "sr-eval")
    assert done.returncode == 0, done.stderr
    stages = json.loads((model / "provenance.json").read_text())["stages"]
    assert stages["3"] == {"final_step": 9}
    assert [p["run"] for p in stages["2"]["phases"]] == ["(earlier record)", str(tmp_path / "e")]
    assert stages["2"]["final_step"] == 50 + 60
    assert [p["run"] for p in stages["1"]["phases"]] == ["a", "b", str(tmp_path / "d")]
    assert stages["1"]["final_step"] == 300 + 120
    assert stages["1"]["wall_min"] == round(7.0 + 120 / 60, 1)
    assert json.loads((model / "metrics.json").read_text()) == {"sr-eval": sr}


def test_keeping_what_is_not_there_is_an_error(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "metrics.json").write_text(json.dumps({"eval": {}}))
    done = card(model, "--keep-bench", "sr-eval")
    assert done.returncode != 0 and "sr-eval" in done.stderr
    assert json.loads((model / "metrics.json").read_text()) == {"eval": {}}
