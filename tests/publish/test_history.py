"""The history store with real render commits: stages per request and PR, Flux feedback settled once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.git.publish import ancestry, publish
from bot.adapters.store.history import History, format_history, history_rows
from bot.core.flux import parse_event
from bot.core.publish import PublishResult
from tests.publish.conftest import Remote, merge_info, request
from tests.publish.test_flux import event

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def flux(**kw: object) -> bytes:
    return json.dumps(event(**kw)).encode()  # type: ignore[arg-type]


def merge_and_publish(remote: Remote, worker: object, store: History, pr: int, name: str,
                      start: datetime) -> PublishResult:
    path = f"requests/dev/payments/{name}.yaml"
    store.record("opened", [path], pr=pr, at=start)
    store.record("checked", [path], pr=pr, at=start + timedelta(minutes=1))
    store.record("checked", [path], pr=pr, at=start + timedelta(minutes=3))
    sha = remote.merge({path: request(name)}, f"Add {name}")
    store.record("merged", [path], pr=pr, at=start + timedelta(minutes=10), sha=sha)
    result = publish(worker, branch="main", merged=merge_info(pr, (path,), sha))  # type: ignore[arg-type]
    store.record_render(result.live_sha, [path], pr=pr, at=start + timedelta(minutes=11))
    return result


def test_stages_from_open_to_applied_with_skipped_commits_and_repeated_errors(
        remote: Remote, tmp_path: Path) -> None:
    worker = remote.clone("worker")
    store = History(tmp_path / "data")
    r1, r2, r3 = (merge_and_publish(remote, worker, store, pr, f"c{pr}", T0 + timedelta(hours=pr))
                  for pr in (1, 2, 3))
    assert len(store.pending("dev")) == 3
    check = ancestry(worker)
    failing = flux(severity="error", reason="HealthCheckFailed", sha=r2.live_sha, at="2026-11-26T12:00:00Z",
                   message="timeout waiting for: [ConfigMap/payments/cache-c2 status: 'InProgress']")
    first = store.handle(parse_event(failing), check)
    assert sorted(o.render.pr for o in first) == [1, 2] and all(o.status == "failed" for o in first)
    assert store.handle(parse_event(failing), check) == []  # repeated every few minutes: told once
    done = store.handle(parse_event(flux(sha=r3.live_sha, at="2026-11-26T12:30:00Z")), check)
    assert sorted(o.render.pr for o in done) == [1, 2, 3]  # r1, r2 were never reported applied on their own
    assert store.pending() == []
    assert store.handle(parse_event(flux(sha=r3.live_sha, at="2026-11-26T12:35:00Z")), check) == []

    rows = history_rows(tmp_path / "data")
    assert [r["pr"] for r in rows] == [1, 2, 3]
    one = rows[0]
    assert one["request"] == "requests/dev/payments/c1.yaml" and one["env"] == "dev"
    assert one["opened"] == "2026-11-26T10:00:00Z" and one["checked"] == "2026-11-26T10:03:00Z"
    assert one["merged"] == "2026-11-26T10:10:00Z" and one["rendered"] == "2026-11-26T10:11:00Z"
    assert one["commit"] == r1.live_sha and one["applied"] == "2026-11-26T12:30:00Z"
    assert one["failed"] == "2026-11-26T12:00:00Z" and one["reason"].startswith("HealthCheckFailed: timeout")
    assert one["lead_time_s"] == int(timedelta(hours=2, minutes=30).total_seconds())
    assert history_rows(tmp_path / "data" / "history.sqlite3", pr=2)[0]["request"].endswith("c2.yaml")
    assert history_rows(tmp_path / "data", request="requests/dev/payments/c3.yaml")[0]["pr"] == 3
    text = format_history(rows)
    assert "requests/dev/payments/c1.yaml  #1" in text and "2h30m" in text and "not applied" not in text


def test_a_render_already_applied_is_settled_at_once(remote: Remote, tmp_path: Path) -> None:
    worker = remote.clone("worker")
    store = History(tmp_path)
    first = merge_and_publish(remote, worker, store, 1, "a", T0)
    store.handle(parse_event(flux(sha=first.live_sha)), ancestry(worker))
    # a replayed merge: up to date, its live commit is the tip Flux already applied
    again = publish(worker, branch="main", merged=merge_info(1, ("requests/dev/payments/a.yaml",)))
    assert again.status == "up-to-date"
    assert store.record_render(again.live_sha, ["requests/dev/payments/a.yaml"], pr=1,
                               is_ancestor=ancestry(worker)) == []
    assert store.pending() == []


def test_failures_still_pending_are_listed(tmp_path: Path) -> None:
    store = History(tmp_path)
    sha = "a" * 40
    store.record("merged", ["requests/prod/web/x.yaml"], pr=None, at=T0)
    store.record_render(sha, ["requests/prod/web/x.yaml"], pr=None, at=T0)
    out = store.handle(parse_event(flux(severity="error", reason="BuildFailed", sha=sha, env="prod",
                                        message="kustomize build failed")), lambda a, b: a == b)
    assert [o.status for o in out] == ["failed"] and out[0].render.pr is None
    assert [p.state for p in store.pending("prod")] == ["failed"]
    text = format_history(history_rows(tmp_path))
    assert "push" in text and "FAILED" in text
    assert "requests/prod/web/x.yaml (push): BuildFailed: kustomize build failed" in text


def test_concurrent_deliveries_settle_once(tmp_path: Path) -> None:
    store = History(tmp_path)
    for n in range(5):
        store.record_render(f"{n}" * 40, [f"requests/dev/web/r{n}.yaml"], pr=n + 1)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        results.append(len(History(tmp_path).handle(parse_event(flux(sha="4" * 40)), lambda a, b: True)))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 0, 5]


def test_unknown_stages_and_missing_databases(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        History(tmp_path).record("deployed", ["requests/dev/a/b.yaml"])
    assert history_rows(tmp_path / "nowhere") == []
    assert format_history([]) == "no history recorded\n"
