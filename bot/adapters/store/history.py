"""Time to value: a small SQLite log of each request's PR opened, checked, merged, rendered and applied in Flux."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.flux import FluxEvent, Outcome, PendingRender, decide
from bot.core.paths import request_env

DB_NAME = "history.sqlite3"
STAGES = ("opened", "checked", "merged", "rendered", "applied", "failed")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS stages (
  id INTEGER PRIMARY KEY, request TEXT NOT NULL, pr INTEGER NOT NULL, stage TEXT NOT NULL,
  at TEXT NOT NULL, env TEXT, sha TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS stages_request ON stages (request, pr);
CREATE INDEX IF NOT EXISTS stages_pr ON stages (pr);
CREATE TABLE IF NOT EXISTS renders (
  sha TEXT NOT NULL, env TEXT NOT NULL, pr INTEGER NOT NULL, requests TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending', reason TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (sha, env, pr));
CREATE TABLE IF NOT EXISTS applied (env TEXT PRIMARY KEY, sha TEXT NOT NULL, at TEXT NOT NULL);
"""
NO_PR = 0  # pushes outside a pull request


def _iso(at: datetime | None) -> str:
    return (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class History:
    """The store under a data directory; one short connection per call, so threads and processes share it."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.path = Path(data_dir) / DB_NAME
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        finally:
            db.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def record(self, stage: str, requests: Iterable[str], *, pr: int | None = None, at: datetime | None = None,
               env: str | None = None, sha: str | None = None, detail: str | None = None) -> None:
        """opened / checked / merged (or any stage) for each request path of a PR."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        with self._db() as db:
            _insert(db, stage, requests, pr, _iso(at), env, sha, detail)

    def record_render(self, sha: str, requests: Sequence[str], *, pr: int | None, at: datetime | None = None,
                      is_ancestor: Callable[[str, str], bool] | None = None) -> list[PendingRender]:
        """The commit that makes these requests live (PublishResult.live_sha), pending Flux per environment.
        When Flux already applied a descendant of it (`is_ancestor` given), it is applied at once."""
        when = _iso(at)
        by_env: dict[str, list[str]] = {}
        for path in requests:
            by_env.setdefault(request_env(path), []).append(path)
        out: list[PendingRender] = []
        with self._db() as db:
            for env, paths in sorted(by_env.items()):
                _insert(db, "rendered", paths, pr, when, env, sha, None)
                db.execute("INSERT OR IGNORE INTO renders (sha, env, pr, requests, created, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (sha, env, pr or NO_PR, json.dumps(sorted(paths)), when, when))
                last = db.execute("SELECT sha, at FROM applied WHERE env = ?", (env,)).fetchone()
                render = PendingRender(sha, env, pr, tuple(sorted(paths)))
                if last and is_ancestor and (last[0] == sha or is_ancestor(sha, last[0])):
                    _settle(db, render, "applied", last[1], "", "")
                else:
                    out.append(render)
        return out

    def pending(self, env: str | None = None) -> list[PendingRender]:
        """Renders not yet applied (pending, or failed and still waiting for a later success)."""
        with self._db() as db:
            return _pending(db, env)

    def handle(self, event: FluxEvent, is_ancestor: Callable[[str, str], bool]) -> list[Outcome]:
        """Judge a Flux event against the pending renders and store what it settles, in one transaction
        (concurrent deliveries of the same event report it once). Returns what to tell the PRs."""
        with self._db() as db:
            if event.succeeded and event.env and event.sha:
                db.execute("INSERT INTO applied (env, sha, at) VALUES (?, ?, ?) ON CONFLICT (env) DO UPDATE "
                           "SET sha = excluded.sha, at = excluded.at WHERE excluded.at >= applied.at",
                           (event.env, event.sha, _iso(event.timestamp)))
            outcomes = decide(event, _pending(db, event.env), is_ancestor) if event.env else []
            for o in outcomes:
                _settle(db, o.render, o.status, _iso(o.at), o.reason, o.message, o.revision)
            return outcomes


def _pending(db: sqlite3.Connection, env: str | None) -> list[PendingRender]:
    rows = db.execute("SELECT sha, env, pr, requests, state, reason, message FROM renders WHERE state != "
                      "'applied' AND (? IS NULL OR env = ?) ORDER BY created, sha", (env, env)).fetchall()
    return [PendingRender(r[0], r[1], r[2] or None, tuple(json.loads(r[3])), r[4], r[5], r[6]) for r in rows]


def _settle(db: sqlite3.Connection, render: PendingRender, state: str, at: str, reason: str, message: str,
            revision: str | None = None) -> None:
    db.execute("UPDATE renders SET state = ?, reason = ?, message = ?, updated = ? WHERE sha = ? AND env = ? "
               "AND pr = ?", (state, reason, message, at, render.sha, render.env, render.pr or NO_PR))
    detail = f"{reason}: {message}" if state == "failed" else revision
    _insert(db, state, render.requests, render.pr, at, render.env, render.sha, detail)


def _insert(db: sqlite3.Connection, stage: str, requests: Iterable[str], pr: int | None, at: str,
            env: str | None, sha: str | None, detail: str | None) -> None:
    db.executemany("INSERT INTO stages (request, pr, stage, at, env, sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(r, pr or NO_PR, stage, at, env or request_env(r), sha, detail) for r in requests])


def history_rows(db_path: str | os.PathLike[str], request: str | None = None,
                 pr: int | None = None) -> list[dict[str, Any]]:
    """One row per (request, PR): first opened, last checked, merged, first rendered (and its commit),
    first applied, last failure and its reason; lead time from opened to applied in seconds."""
    path = Path(db_path)
    if path.is_dir():
        path = path / DB_NAME
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT request, pr, stage, at, env, sha, detail FROM stages WHERE (? IS NULL OR "
                          "request = ?) AND (? IS NULL OR pr = ?) ORDER BY at, id",
                          (request, request, pr, pr)).fetchall()
    finally:
        db.close()
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for req, number, stage, at, env, sha, detail in rows:
        row = out.setdefault((req, number), {"request": req, "pr": number or None, "env": env,
                                             **{s: None for s in STAGES}, "commit": None, "reason": None})
        if stage in ("checked", "failed") or row[stage] is None:  # last check and failure, first of the rest
            row[stage] = at
        if stage == "rendered" and row["commit"] is None:
            row["commit"] = sha
        if stage == "failed":
            row["reason"] = detail
    for row in out.values():
        start, end = row["opened"] or row["merged"], row["applied"]
        row["lead_time_s"] = int((_dt(end) - _dt(start)).total_seconds()) if start and end else None
    return sorted(out.values(), key=lambda r: (r["opened"] or r["merged"] or r["rendered"] or "", r["request"]))


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def format_history(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table for `pledge history`."""
    if not rows:
        return "no history recorded\n"
    cols = ("request", "pr", "opened", "checked", "merged", "rendered", "applied", "lead")
    table = [cols]
    for r in rows:
        lead = r["lead_time_s"]
        state = _short(r["applied"]) if r["applied"] else ("FAILED " + _short(r["failed"]) if r["failed"] else "-")
        table.append((r["request"], _pr(r["pr"]), _short(r["opened"]),
                      _short(r["checked"]), _short(r["merged"]), _short(r["rendered"]), state,
                      _duration(lead) if lead is not None else "-"))
    widths = [max(len(str(line[i])) for line in table) for i in range(len(cols))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in table]
    failures = [f"  {r['request']} ({_pr(r['pr'])}): {r['reason']}" for r in rows if r["failed"] and not r["applied"]]
    return "\n".join(lines + (["", "not applied:", *failures] if failures else [])) + "\n"


def _pr(number: int | None) -> str:
    return f"#{number}" if number else "push"


def _short(at: str | None) -> str:
    return at.replace("T", " ")[:16] if at else "-"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
