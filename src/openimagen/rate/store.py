"""The votes: one SQLite row per answer (rater, prompt, question, answer, sides, time) in WAL mode.

Every answer is committed (and the WAL fsynced: synchronous=FULL) before the server acknowledges it, so killing the
server loses no acknowledged vote. (rater, prompt, question) is unique: a repeated or concurrent submission of the
same answer is ignored, never counted twice; different raters write concurrently (busy timeout, short transactions).
"""

from __future__ import annotations

from contextlib import closing
import secrets
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

QUESTIONS = ("quality", "alignment")              # Imagen's two questions, in the order asked
ANSWERS = ("A", "indifferent", "B")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY,
    rater TEXT NOT NULL,
    prompt_index INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    category TEXT NOT NULL,
    question TEXT NOT NULL CHECK (question IN ('quality', 'alignment')),
    answer TEXT NOT NULL CHECK (answer IN ('A', 'indifferent', 'B')),
    left_run TEXT NOT NULL CHECK (left_run IN ('A', 'B')),
    created TEXT NOT NULL,
    UNIQUE (rater, prompt_index, question)
);
"""


class StoreError(ValueError):
    """A ratings database that belongs to other runs or cannot be opened; the message says which and why."""


class VoteStore:
    """Opens one short-lived connection per operation, so it is safe to share between server threads."""

    def __init__(self, path: str | Path, runs: dict[str, str]):
        self.path = Path(path)
        try:
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (secrets.token_hex(16),))
                for key, value in runs.items():
                    db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
                meta = dict(db.execute("SELECT key, value FROM meta"))
        except sqlite3.Error as error:
            raise StoreError(f"--db {path}: cannot open the ratings database ({error})") from error
        differ = [key for key, value in runs.items() if meta[key] != value]
        if differ:
            theirs = ", ".join(f"{key}: {meta[key]}" for key in differ)
            raise StoreError(f"--db {path} holds votes for other runs ({theirs}); "
                             "pass those runs in that order, or another --db")
        self.salt = meta["salt"]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def record(self, rater: str, prompt_index: int, prompt: str, category: str, left_run: str,
               answers: dict[str, str]) -> int:
        """Store the answers (question -> 'A' | 'indifferent' | 'B') in one transaction; returns how many were new."""
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        rows = [(rater, prompt_index, prompt, category, question, answer, left_run, now)
                for question, answer in answers.items()]
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO votes (rater, prompt_index, prompt, category, question, answer, "
                           "left_run, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
            return db.total_changes - before
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def rated_prompts(self, rater: str, questions: tuple[str, ...] = QUESTIONS) -> set[int]:
        """Prompts for which `rater` has answered every one of `questions`."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT prompt_index FROM votes WHERE rater = ? AND question IN (%s) GROUP BY "
                              "prompt_index HAVING COUNT(*) = ?" % ",".join("?" * len(questions)),
                              (rater, *questions, len(questions)))
            return {index for (index,) in rows}

    def run_names(self) -> tuple[str, str]:
        with closing(self._connect()) as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
        return meta.get("run_a", "A"), meta.get("run_b", "B")

    def votes(self) -> list[dict]:
        with closing(self._connect()) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM votes ORDER BY id")]
