"""A torchvision that cannot be imported (PyPI's wheel beside a CPU-only torch) must not break openimagen (issue 17)."""

import os
import subprocess
import sys

BROKEN = "raise RuntimeError('operator torchvision::nms does not exist')\n"


def run(code: str, fake_root) -> subprocess.CompletedProcess:
    (fake_root / "torchvision").mkdir(exist_ok=True)
    (fake_root / "torchvision" / "__init__.py").write_text(BROKEN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake_root), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_the_fake_torchvision_breaks_transformers_as_the_real_one_does(tmp_path):
    result = run("from transformers import BertModel", tmp_path)
    assert result.returncode != 0 and "torchvision::nms" in result.stderr + result.stdout


def test_the_text_encoder_loads_and_encodes_beside_it_with_one_warning(tmp_path):
    result = run("from openimagen.text import load_encoder\n"
                 "emb, mask = load_encoder().encode(['a red circle'])\n"
                 "print(tuple(emb.shape))", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(", 384)")
    assert result.stderr.count("the installed torchvision cannot be imported") == 1
    assert "operator torchvision::nms does not exist" in result.stderr
