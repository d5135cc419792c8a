"""`openimagen rate`: side-by-side human rating of two DrawBench-style runs in the browser, the preference report,
and an automatic rater for shapes-world runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command

EXAMPLES = """
\b
Examples:
  openimagen rate runs/mine runs/shipped --db ratings.sqlite            # serve http://127.0.0.1:8765/
  openimagen rate --report --db ratings.sqlite --out report/            # table, report.html, CSVs
  openimagen rate runs/a runs/b --db auto.sqlite --auto-judge           # shapes world: the judge votes
"""


@click.command(epilog=EXAMPLES, cls=Command)
@click.argument("runs", nargs=-1, metavar="[RUN_A RUN_B]")
@click.option("--db", default="ratings.sqlite", show_default=True, metavar="FILE", help="SQLite file of the votes.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0 = every network).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--report", is_flag=True, help="Print the preference report of the votes in --db and stop.")
@click.option("--out", default=None, metavar="DIR", help="With --report / --auto-judge: write report.html, "
                                                         "results.csv and votes.csv here.")
@click.option("--auto-judge", is_flag=True, help="Shapes-world runs: the judge answers the caption question.")
def rate(runs, db, host, port, report, out, auto_judge) -> None:
    """Serve a local page where raters compare the image sets of RUN_A and RUN_B (folders written by
    `openimagen drawbench generate`) prompt by prompt, blinded, answering Imagen's two questions."""
    from openimagen.rate.pairing import PairingError, open_pair
    from openimagen.rate.store import StoreError, VoteStore

    if len(runs) not in (0, 2) or (not runs and not report):
        raise UserError("give two run folders, RUN_A RUN_B (written by `openimagen drawbench generate`); only "
                        "--report works without them")
    if Path(db).is_dir():
        raise UserError(f"--db {db} is a folder; pass the SQLite file of the votes (e.g. {Path(db) / 'votes.sqlite'})")
    if not runs and not Path(db).is_file():
        raise UserError(f"--db {db}: no such file; rate first, or pass the database the votes are in")
    if auto_judge and not runs:
        raise UserError("--auto-judge needs the two run folders RUN_A RUN_B to judge")
    if auto_judge:
        from openimagen.rate.auto_judge import auto_judge as judge_all, judged_specs
    new_db = not Path(db).exists()
    try:
        pair = open_pair(*runs) if runs else None
        if auto_judge:
            judged_specs(pair)                        # before the database is created
        names = {"run_a": str(Path(runs[0]).resolve()), "run_b": str(Path(runs[1]).resolve())} if runs else {}
        store = VoteStore(db, names)
        stored = judge_all(pair, store, progress=sys.stderr.isatty()) if auto_judge else None
    except (PairingError, StoreError) as error:
        if new_db:
            remove_database(Path(db))                 # made by this run, which failed: leave nothing behind
        raise UserError(str(error)) from error
    if auto_judge:
        click.echo(f"auto-judge: {stored} new vote(s) in {db}")
    if report or auto_judge:
        print_report(store, out)
        return
    serve(pair, store, host, port, db)


def remove_database(path: Path) -> None:
    """The SQLite file and its WAL companions."""
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        companion.unlink(missing_ok=True)


def print_report(store, out: str | None) -> None:
    from openimagen.rate.report import write_report
    from openimagen.rate.stats import format_table, preference_table

    votes = store.votes()
    if not votes:
        click.echo(f"no votes in {store.path} yet")
        return
    run_a, run_b = store.run_names()
    click.echo(f"A = {run_a}\nB = {run_b}\n{len(votes)} answers from {len({v['rater'] for v in votes})} rater(s); "
               "95% Wilson intervals")
    click.echo(format_table(preference_table(votes)))
    if out:
        try:
            written = write_report(out, votes, run_a, run_b)
        except OSError as error:
            raise UserError(f"--out {out}: cannot write the report ({error.strerror or error})") from error
        click.echo("wrote " + ", ".join(str(p) for p in written))


def serve(pair, store, host: str, port: int, db: str) -> None:
    from openimagen.rate.app import create_app
    from openimagen.rate.server import make_rating_server

    try:
        server = make_rating_server(create_app(pair, store), host, port)
    except OSError as error:
        raise UserError(f"--host {host} --port {port}: cannot listen there ({error.strerror or error}); "
                        "pass another --port") from error
    click.echo(f"Rating {len(pair.prompts)} prompts at http://{host}:{server.server_port}/ (votes go to {db}); "
               "Ctrl-C stops", err=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
