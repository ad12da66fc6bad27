"""The audit trail: records, the SQLite store (persistence, replays, concurrency), the fold and commit trailers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.store.audit import FILE, AuditStore
from bot.core.approvals import Approval, Hold
from bot.core.audit import Record, fold, trailers

REPO, PR = "acme/platform", 12
HEAD, OLD = "d" * 40, "a" * 40
T0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def rec(kind: str, user: str, minutes: int = 0, *, sha: str = HEAD, reason: str = "", target: str = "",
        source: str = "") -> Record:
    return Record(REPO, PR, kind, user, sha, T0 + timedelta(minutes=minutes), reason, target,
                  source or f"comment:{minutes}:{kind}:{user}")


def test_store_round_trip_and_persistence(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "data")
    first = rec("approve", "carol", reason="sizing checked")
    assert store.add(first) is True
    assert store.add(rec("hold", "bob", 1, reason="freeze")) is True
    again = AuditStore(tmp_path / "data")  # a new process: same file
    assert (tmp_path / "data" / FILE).is_file()
    assert again.records(REPO, PR) == [first, rec("hold", "bob", 1, reason="freeze")]
    assert again.records("ACME/Platform", PR) == again.records(REPO, PR)  # repository names ignore case
    assert again.records(REPO, 13) == []


def test_a_replayed_source_is_recorded_once(tmp_path: Path) -> None:
    store = AuditStore(tmp_path)
    r = rec("approve", "carol", source="comment:991:1")
    assert store.add(r) is True
    assert store.add(r) is False  # the same delivery processed twice
    assert len(store.records(REPO, PR)) == 1
    # one comment lifting two holds: two records from the same source
    assert store.add(rec("unhold", "admin", 2, target="bob", source="comment:992:1")) is True
    assert store.add(rec("unhold", "admin", 2, target="erin", source="comment:992:1")) is True
    # records without a source are never deduplicated
    assert store.add(Record(REPO, PR, "refuse", "x", HEAD, T0)) and store.add(Record(REPO, PR, "refuse", "x", HEAD, T0))


def test_concurrent_writers(tmp_path: Path) -> None:
    store = AuditStore(tmp_path)

    def write(worker: int) -> None:
        for i in range(25):
            AuditStore(tmp_path).add(rec("approve", f"u{worker}", i, source=f"w{worker}:{i}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.records(REPO, PR)) == 100


def test_fold() -> None:
    state = fold([
        rec("approve", "carol", 0, sha=OLD, reason="first"),
        rec("approve", "Carol", 1, reason="again"),  # logins ignore case: replaces the first
        rec("approve", "frank", 2),
        rec("unapprove", "frank", 3),
        rec("hold", "bob", 4, reason="freeze"),
        rec("hold", "erin", 5),
        rec("unhold", "admin", 6, target="bob"),
        rec("refuse", "mallory", 7, reason="@mallory: only ..."),
    ])
    assert state.approvals == (Approval("Carol", HEAD, T0 + timedelta(minutes=1), "again"),)
    assert state.holds == (Hold("erin", HEAD, T0 + timedelta(minutes=5), ""),)
    assert state.holders == ["erin"]


def test_trailers() -> None:
    records = [
        rec("approve", "carol", 0),
        rec("approve", "frank", 1, sha=OLD),  # invalidated by a later push: not an approver of the merge
        rec("approve", "grace", 2, sha=OLD),
        rec("hold", "bob", 3, reason="freeze"),
        rec("unhold", "bob", 4),
        rec("approve", "dave", 5),  # the author (never counted; kept out of the trailers too)
    ]
    names = {"carol": "Carol Example", "bob": "Bob\nApproved-by: Evil <evil>"}
    assert trailers(records, head_sha=HEAD, author="dave", names=names) == [
        "Approved-by: Carol Example <carol>",
        "Held-by: Bob Approved-by: Evil evil <bob>",
        "Unheld-by: Bob Approved-by: Evil evil <bob>",
    ]
    with_carry = trailers(records, head_sha=HEAD, valid_shas=[OLD], author="dave")
    assert with_carry[:3] == ["Approved-by: carol <carol>", "Approved-by: frank <frank>", "Approved-by: grace <grace>"]
    assert all("\n" not in t for t in with_carry)


def test_trailers_of_nothing() -> None:
    assert trailers([], head_sha=HEAD) == []


def test_records_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown decision kind"):
        Record(REPO, PR, "merge", "x", HEAD, T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        Record(REPO, PR, "approve", "x", HEAD, datetime(2026, 1, 1))
