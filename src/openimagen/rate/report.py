"""The preference report as files: report.html (table + chart, the app's results page), results.csv, votes.csv."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment

from openimagen.files import write_text_atomic
from openimagen.rate import pages
from openimagen.rate.chart import preference_svg
from openimagen.rate.stats import preference_table, table_csv, votes_csv


def results_html(votes: list[dict], run_a: str | Path, run_b: str | Path) -> str:
    rows = preference_table(votes)
    template = Environment(autoescape=True).from_string(pages.RESULTS)   # as Flask renders it: escaped
    return template.render(title="Results", rows=rows, chart=preference_svg(rows), votes=len(votes),
                           raters=len({v["rater"] for v in votes}), run_a=run_a, run_b=run_b)


def write_report(out: str | Path, votes: list[dict], run_a: str | Path, run_b: str | Path) -> list[Path]:
    """Write the three files into `out` (created if needed), each atomically; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"report.html": results_html(votes, run_a, run_b), "results.csv": table_csv(preference_table(votes)),
             "votes.csv": votes_csv(votes)}
    for name, text in files.items():
        write_text_atomic(out / name, text)
    return [out / name for name in files]
