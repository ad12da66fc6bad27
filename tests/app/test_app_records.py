"""Typed state records in the journal, and their expiry: old records go, installations stay, old files upgrade."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bot.adapters.store.journal import Journal, RedisJournal, SqliteJournal
from bot.adapters.store.records import CommentRef, PublishStage, PublishState, Records
from bot.app.queue import KEEP

DAY = 24 * 3600.0


def test_records_round_trip_with_their_kinds(tmp_path: Path) -> None:
    records = Records(SqliteJournal(tmp_path / "j.db"))
    assert records.comment("o/r", 1) is None
    records.set_comment("o/r", 1, CommentRef(None))
    assert records.comment("o/r", 1) == CommentRef(None)
    records.set_comment("o/r", 1, CommentRef(42, cleared=True))
    assert records.comment("o/r", 1) == CommentRef(42, cleared=True)
    records.set_published("o/r", 1, PublishState(PublishStage.DONE, 7))
    assert records.published("o/r", 1) == PublishState(PublishStage.DONE, 7)
    records.set_flux_outbox("d1", {12: "applied", 3: "failed"})
    assert records.flux_outbox("d1") == {3: "failed", 12: "applied"}
    assert not records.flux_sent("d1", 3)
    records.set_flux_sent("d1", 3)
    assert records.flux_sent("d1", 3) and not records.flux_sent("d1", 12)
    records.set_installation("o/r", 99)
    assert records.installation("o/r") == 99


def test_records_keep_the_names_earlier_releases_wrote(tmp_path: Path) -> None:
    """A journal written before the typed records still reads: the names and values are the same."""
    journal = SqliteJournal(tmp_path / "j.db")
    journal.put("comment:o/r#5", "17:cleared")
    journal.put("published:o/r#5", "done:31")
    records = Records(journal)
    assert records.comment("o/r", 5) == CommentRef(17, cleared=True)
    assert records.published("o/r", 5) == PublishState(PublishStage.DONE, 31)


def test_old_state_expires_but_installations_stay(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    records = Records(journal)
    records.set_comment("o/r", 1, CommentRef(5))
    records.set_installation("o/r", 99)
    records.set_snapshot("o/r", 2, "z:fresh")
    with sqlite3.connect(tmp_path / "j.db") as db:  # age two records by 31 days
        db.execute("update pledge_kv set updated = ? where name in ('comment:o/r#1', 'installation:o/r')",
                   (time.time() - 31 * DAY,))
    assert journal.prune(30 * DAY, KEEP) == 1
    assert records.comment("o/r", 1) is None
    assert records.installation("o/r") == 99 and records.snapshot("o/r", 2) == "z:fresh"


def test_a_journal_from_before_retention_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with sqlite3.connect(path) as db:  # the previous release's table
        db.execute("create table pledge_kv (name text primary key, value text not null)")
        db.execute("insert into pledge_kv values ('comment:o/r#1', '8')")
    journal = SqliteJournal(path)
    assert Records(journal).comment("o/r", 1) == CommentRef(8)
    assert journal.prune(30 * DAY, KEEP) == 0  # its records count from the upgrade, not from 1970
    journal.put("comment:o/r#1", "9")
    assert journal.get("comment:o/r#1") == "9"


@pytest.mark.redis
def test_redis_records_carry_the_retention_as_ttl(request: pytest.FixtureRequest) -> None:
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    journal: Journal = RedisJournal(client, prefix="ttl-test", retention=30 * DAY, keep=KEEP)
    journal.put("comment:o/r#1", "5")
    journal.put("installation:o/r", "99")
    assert 29 * DAY < client.ttl("ttl-test:kv:comment:o/r#1") <= 30 * DAY
    assert client.ttl("ttl-test:kv:installation:o/r") == -1  # no expiry
