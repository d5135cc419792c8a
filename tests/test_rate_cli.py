"""`openimagen rate` without a browser: the automatic shapes-world rater, the printed report and its files, and the
one-line errors for runs that do not match."""

import csv
import json

from cli_helpers import assert_one_line_error, cli
from rate_helpers import PROMPTS, make_run, make_shapes_runs


def test_the_auto_judge_prefers_the_renderer_over_noise_and_writes_the_report(tmp_path):
    truth, noise = make_shapes_runs(tmp_path)
    result = cli("rate", truth, noise, "--db", tmp_path / "auto.sqlite", "--auto-judge", "--out", tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert "auto-judge: 3 new vote(s)" in result.stdout
    rows = list(csv.DictReader((tmp_path / "report" / "results.csv").open()))
    overall = next(r for r in rows if r["category"] == "overall")
    assert overall["question"] == "alignment" and overall["votes"] == "3" and float(overall["A_rate"]) == 1.0
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<svg" in html and "prefer A" in html and (tmp_path / "report" / "votes.csv").is_file()
    again = cli("rate", truth, noise, "--db", tmp_path / "auto.sqlite", "--auto-judge")
    assert "auto-judge: 0 new vote(s)" in again.stdout                       # idempotent


def test_report_needs_only_the_database_and_prints_the_table(tmp_path):
    truth, noise = make_shapes_runs(tmp_path, count=2)
    cli("rate", truth, noise, "--db", tmp_path / "auto.sqlite", "--auto-judge")
    result = cli("rate", "--report", "--db", tmp_path / "auto.sqlite")
    assert result.exit_code == 0, result.output
    assert f"A = {truth}" in result.stdout and "overall" in result.stdout and "100.0% [" in result.stdout


def test_the_auto_judge_refuses_runs_without_shapes_world_specs_and_leaves_no_database(tmp_path):
    a, b = make_run(tmp_path / "a", "red"), make_run(tmp_path / "b", "blue")
    assert_one_line_error(cli("rate", a, b, "--db", tmp_path / "x.sqlite", "--auto-judge"), "shapes-world prompts")
    assert not list(tmp_path.glob("x.sqlite*"))


def test_the_auto_judge_refuses_a_malformed_spec_and_leaves_no_database(tmp_path):
    runs = make_shapes_runs(tmp_path, count=2)
    for run in runs:
        rows = [json.loads(line) for line in (run / "prompts.jsonl").read_text().splitlines()]
        rows[1]["spec"]["objects"] = "not a list"
        (run / "prompts.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = cli("rate", *runs, "--db", tmp_path / "x.sqlite", "--auto-judge")
    assert_one_line_error(result, "--auto-judge: prompt 1 of RUN_A: field 'objects' must be a list")
    assert not list(tmp_path.glob("x.sqlite*"))


def test_runs_of_different_prompts_are_refused_in_one_line(tmp_path):
    a = make_run(tmp_path / "a", "red")
    b = make_run(tmp_path / "b", "blue", prompts=PROMPTS[:1] + [("something else", "count")] + PROMPTS[2:])
    assert_one_line_error(cli("rate", a, b, "--db", tmp_path / "x.sqlite"), "prompt 1 is 'two blue squares'")


def test_a_db_that_is_a_folder_is_named_as_one(tmp_path):
    truth, noise = make_shapes_runs(tmp_path, count=2)
    (tmp_path / "votes").mkdir()
    for args in (["--report"], [truth, noise]):
        assert_one_line_error(cli("rate", *args, "--db", tmp_path / "votes"), f"--db {tmp_path / 'votes'} is a folder")


def test_one_run_folder_is_a_usage_mistake(tmp_path):
    a = make_run(tmp_path / "a", "red")
    assert_one_line_error(cli("rate", a), "give two run folders")
