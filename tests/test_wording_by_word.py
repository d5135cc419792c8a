"""scripts/wording_by_word.py: per held-out word pass rates and the misread-color bound, on hand-made bench rows."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "wording_by_word.py"
spec = importlib.util.spec_from_file_location("wording_by_word", SCRIPT)
wording_by_word = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wording_by_word)

ROWS = [{"prompt": "a crimson orb", "passed": 1, "images": 4},
        {"prompt": "two jade boxes here", "passed": 0, "images": 4},
        {"prompt": "here we see a red circle", "passed": 4, "images": 4},
        {"prompt": "an orb painted blue", "passed": 3, "images": 4}]


def test_per_word_counts_each_prompt_once_per_word():
    table = wording_by_word.per_word(ROWS)
    assert table["orb"] == (4, 8)              # "a crimson orb" + "an orb painted blue"
    assert table["boxes"] == (0, 4) and table["crimson"] == (1, 4) and table["painted"] == (3, 4)
    assert table["here we see"] == (4, 4)
    assert "red" not in table and "circle" not in table


def test_a_word_said_twice_counts_its_prompt_once():
    rows = [{"prompt": "an orb left of an orb", "passed": 2, "images": 4}]
    assert wording_by_word.per_word(rows) == {"orb": (2, 4)}


def test_misread_bound_is_the_chance_pass_of_misread_prompts():
    hit, bound = wording_by_word.misread_bound(ROWS, {"crimson", "jade"})
    assert hit == 2
    assert bound == pytest.approx((2 + 2 / 7) / 4)
    needed = wording_by_word.needed_on_the_rest(ROWS, {"crimson", "jade"}, 0.5)
    assert needed == pytest.approx((0.5 * 4 - 2 / 7) / 2)
    assert wording_by_word.needed_on_the_rest(ROWS, {"crimson", "jade"}, 0.9) > 1      # out of reach


def test_cli_prints_and_refuses_bad_input(tmp_path, capsys):
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    wording_by_word.main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "overall 50.0%" in out and "1 of 4 prompts name a misread color" in out   # jade; crimson is read
    assert "reaching 75% needs 95.2% of the other prompts" in out                  # (3 - 1/7) / 3
    with pytest.raises(SystemExit, match="not held-out color names"):
        wording_by_word.main([str(tmp_path), "--misread", "red"])
    with pytest.raises(SystemExit, match="not found"):
        wording_by_word.main([str(tmp_path / "nowhere")])
