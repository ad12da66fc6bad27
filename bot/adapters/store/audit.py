"""The audit trail in SQLite: one row per decision, keyed by repository (case-insensitive) and PR."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from bot.core.audit import Record, State, fold

FILE = "audit.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL, pr INTEGER NOT NULL, kind TEXT NOT NULL, user TEXT NOT NULL, sha TEXT NOT NULL,
    at TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS decisions_pr ON decisions (repo, pr, id);
CREATE UNIQUE INDEX IF NOT EXISTS decisions_once ON decisions (repo, pr, source, kind, target)
    WHERE source <> '';
"""


class AuditStore:
    """Decisions in `<data_dir>/audit.sqlite3`, keyed by repository (case-insensitive) and PR number."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            with db:
                yield db

    def add(self, record: Record) -> bool:
        """Store one decision; False when its source was recorded before (a replayed delivery)."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO decisions (repo, pr, kind, user, sha, at, reason, target, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.repo.lower(), record.pr, record.kind, record.user, record.sha, record.at.isoformat(),
                 record.reason, record.target, record.source))
            return cur.rowcount == 1

    def records(self, repo: str, pr: int) -> list[Record]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT repo, pr, kind, user, sha, at, reason, target, source FROM decisions "
                "WHERE repo = ? AND pr = ? ORDER BY id", (repo.lower(), pr)).fetchall()
        return [Record(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), r[6], r[7], r[8]) for r in rows]

    def state(self, repo: str, pr: int) -> State:
        return fold(self.records(repo, pr))
