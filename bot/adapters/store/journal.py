"""Durable per-PR inboxes, delivery dedupe, locks and small state, in the queue's SQLite file or Redis."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

DEDUPE_SECONDS = 7 * 24 * 3600  # GitHub redelivers for 3 days (GHES: 7)
RETENTION_SECONDS = 30 * 24 * 3600  # state records untouched this long are dropped (PLEDGE_RETENTION_DAYS)


@dataclass(frozen=True)
class Item:
    """One accepted delivery waiting in its key's inbox (seq orders arrivals across all keys)."""

    seq: int
    key: str
    name: str
    delivery_id: str
    body: str
    attempts: int = 0


class Journal(Protocol):
    """What the queue keeps next to Huey's tasks, with the same durability."""

    def accept(self, key: str, name: str, delivery_id: str, body: str) -> int:
        """Store a delivery in its key's inbox, atomically with dedupe. Returns how many deliveries the
        key now has pending (1: it was idle), or 0 when the delivery id was seen before."""

    def head(self, key: str) -> Item | None:
        """The oldest pending delivery of the key."""

    def remove(self, key: str, seq: int, count: str = "") -> None:
        """Drop a handled delivery from its inbox and, in the same step, add one to the counter `count`."""

    def failed(self, key: str, seq: int) -> int:
        """Count a failed attempt at an item; returns the attempts so far."""

    def pending_keys(self) -> list[str]: ...

    def try_lock(self, key: str, owner: str, ttl: float) -> bool: ...

    def refresh_lock(self, key: str, owner: str, ttl: float) -> bool: ...

    def unlock(self, key: str, owner: str) -> None: ...

    def lock_owner(self, key: str) -> str | None: ...

    def get(self, name: str) -> str | None: ...

    def put(self, name: str, value: str) -> None: ...

    def incr(self, name: str) -> int: ...

    def counter(self, name: str) -> int: ...

    def prune(self, retention: float = RETENTION_SECONDS, keep: tuple[str, ...] = ()) -> int:
        """Forget delivery ids past the dedupe window and state records not written for `retention` seconds,
        except those whose names start with one of `keep`. Returns how many were dropped."""

    def ping(self) -> None: ...


_SCHEMA = [
    "create table if not exists pledge_delivery (id text primary key, received real not null)",
    "create index if not exists pledge_delivery_received on pledge_delivery (received)",
    "create table if not exists pledge_inbox (seq integer primary key autoincrement, key text not null, "
    "name text not null, delivery_id text not null, body blob not null, attempts integer not null default 0)",
    "create index if not exists pledge_inbox_key on pledge_inbox (key, seq)",
    "create table if not exists pledge_lock (key text primary key, owner text not null, expires real not null)",
    "create table if not exists pledge_kv (name text primary key, value text not null, updated real not null "
    "default 0)",
    "create table if not exists pledge_counter (name text primary key, value integer not null)",
]


class SqliteJournal:
    """Tables beside SqliteHuey's in the same file; WAL, so gunicorn workers and the worker share it."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._tx() as db:
            for sql in _SCHEMA:
                db.execute(sql)
            columns = {row[1] for row in db.execute("pragma table_info(pledge_kv)")}
            if "updated" not in columns:  # a journal from before retention: its records count from now
                db.execute("alter table pledge_kv add column updated real not null default 0")
                db.execute("update pledge_kv set updated = ?", (time.time(),))

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # never share a connection across fork
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma synchronous=normal")  # WAL: survives a killed process; fsync at checkpoints
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, waiting for other processes' writes in steps of about a millisecond: SQLite's
        own busy handler sleeps 1, 2, 5, 10... ms, which multiplies tail latency under concurrent intake."""
        deadline = time.monotonic() + 30
        conn.execute("pragma busy_timeout=0")
        try:
            while True:
                try:
                    conn.execute("begin immediate")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.0002 + random.random() * 0.0008)
        finally:
            conn.execute("pragma busy_timeout=30000")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect()
            self._begin(conn)
            try:
                yield conn
            except BaseException:
                conn.execute("rollback")
                raise
            conn.execute("commit")

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            row = self._connect().execute(sql, args).fetchone()
        return None if row is None else row[0]

    def accept(self, key: str, name: str, delivery_id: str, body: str) -> int:
        with self._tx() as db:
            cur = db.execute(
                "insert into pledge_delivery (id, received) values (?, ?) on conflict do nothing",
                (delivery_id, time.time()),
            )
            if cur.rowcount != 1:
                return 0
            cur = db.execute(
                "insert into pledge_inbox (key, name, delivery_id, body) values (?, ?, ?, ?)",
                (key, name, delivery_id, zlib.compress(body.encode(), 1)),  # ~5x less to write
            )
            ahead = db.execute(
                "select count(*) from (select 1 from pledge_inbox where key = ? and seq < ? limit 2)",
                (key, cur.lastrowid),
            ).fetchone()[0]
        return int(ahead) + 1

    def head(self, key: str) -> Item | None:
        with self._lock:
            row = self._connect().execute(
                "select seq, key, name, delivery_id, body, attempts from pledge_inbox where key = ? "
                "order by seq limit 1",
                (key,),
            ).fetchone()
        if row is None:
            return None
        seq, key, name, delivery_id, body, attempts = row
        return Item(seq, key, name, delivery_id, zlib.decompress(body).decode(), attempts)

    def remove(self, key: str, seq: int, count: str = "") -> None:
        with self._tx() as db:
            cur = db.execute("delete from pledge_inbox where key = ? and seq = ?", (key, seq))
            if count and cur.rowcount:
                self._bump(db, count)

    @staticmethod
    def _bump(db: sqlite3.Connection, name: str) -> None:
        db.execute(
            "insert into pledge_counter (name, value) values (?, 1) on conflict(name) do update set value = value + 1",
            (name,),
        )

    def failed(self, key: str, seq: int) -> int:
        with self._tx() as db:
            db.execute("update pledge_inbox set attempts = attempts + 1 where key = ? and seq = ?", (key, seq))
            row = db.execute("select attempts from pledge_inbox where seq = ?", (seq,)).fetchone()
        return int(row[0]) if row else 0

    def pending_keys(self) -> list[str]:
        with self._lock:
            rows = self._connect().execute("select key from pledge_inbox group by key order by min(seq)")
            return [r[0] for r in rows.fetchall()]

    def try_lock(self, key: str, owner: str, ttl: float) -> bool:
        now = time.time()
        with self._tx() as db:
            db.execute("delete from pledge_lock where key = ? and expires < ?", (key, now))
            cur = db.execute(
                "insert into pledge_lock (key, owner, expires) values (?, ?, ?) on conflict do nothing",
                (key, owner, now + ttl),
            )
            return cur.rowcount == 1

    def refresh_lock(self, key: str, owner: str, ttl: float) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "update pledge_lock set expires = ? where key = ? and owner = ?", (time.time() + ttl, key, owner)
            )
            return cur.rowcount == 1

    def unlock(self, key: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("delete from pledge_lock where key = ? and owner = ?", (key, owner))

    def lock_owner(self, key: str) -> str | None:
        owner = self._one("select owner from pledge_lock where key = ? and expires >= ?", (key, time.time()))
        return None if owner is None else str(owner)

    def get(self, name: str) -> str | None:
        value = self._one("select value from pledge_kv where name = ?", (name,))
        return None if value is None else str(value)

    def put(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "insert into pledge_kv (name, value, updated) values (?, ?, ?) "
                "on conflict(name) do update set value = excluded.value, updated = excluded.updated",
                (name, value, time.time()),
            )

    def incr(self, name: str) -> int:
        with self._tx() as db:
            self._bump(db, name)
            row = db.execute("select value from pledge_counter where name = ?", (name,)).fetchone()
        return int(row[0])

    def counter(self, name: str) -> int:
        value = self._one("select value from pledge_counter where name = ?", (name,))
        return int(value or 0)

    def prune(self, retention: float = RETENTION_SECONDS, keep: tuple[str, ...] = ()) -> int:
        now = time.time()
        with self._tx() as db:
            cur = db.execute("delete from pledge_delivery where received < ?", (now - DEDUPE_SECONDS,))
            dropped = cur.rowcount
            old = [row[0] for row in db.execute("select name from pledge_kv where updated < ?", (now - retention,))]
            stale = [(n,) for n in old if not n.startswith(keep)]
            db.executemany("delete from pledge_kv where name = ?", stale)
            return dropped + len(stale)

    def ping(self) -> None:
        self._one("select 1")


_ACCEPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local seq = redis.call('INCR', KEYS[2])
local pending = redis.call('RPUSH', KEYS[3], seq .. ' ' .. ARGV[3])
redis.call('SADD', KEYS[4], ARGV[2])
return pending
"""
_REMOVE = """
local first = redis.call('LINDEX', KEYS[1], 0)
if first and string.sub(first, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  redis.call('LPOP', KEYS[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  if ARGV[3] ~= '' then redis.call('INCR', KEYS[4]) end
end
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return 1
"""
_IF_OWNER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


class RedisJournal:
    """The same records in Redis (lists, sets and NX keys, Lua where it must be atomic): for many workers."""

    def __init__(self, client: Any, prefix: str = "pledge", *, retention: float = RETENTION_SECONDS,
                 keep: tuple[str, ...] = ()) -> None:
        self.r = client
        self.p = prefix + ":"
        self.retention = int(retention)
        self.keep = keep
        self._accept = client.register_script(_ACCEPT)
        self._remove = client.register_script(_REMOVE)
        self._if_owner = client.register_script(_IF_OWNER)

    def _k(self, *parts: str) -> str:
        return self.p + ":".join(parts)

    def accept(self, key: str, name: str, delivery_id: str, body: str) -> int:
        item = json.dumps({"name": name, "delivery_id": delivery_id, "body": body})
        keys = [self._k("delivery", delivery_id), self._k("seq"), self._k("inbox", key), self._k("inboxes")]
        return int(self._accept(keys=keys, args=[DEDUPE_SECONDS, key, item]))

    def head(self, key: str) -> Item | None:
        raw = self.r.lindex(self._k("inbox", key), 0)
        if raw is None:
            return None
        seq_text, _, data = raw.decode().partition(" ")
        item = json.loads(data)
        attempts = int(self.r.hget(self._k("attempts", key), seq_text) or 0)
        return Item(int(seq_text), key, item["name"], item["delivery_id"], item["body"], attempts)

    def remove(self, key: str, seq: int, count: str = "") -> None:
        keys = [self._k("inbox", key), self._k("attempts", key), self._k("inboxes"), self._k("counter", count)]
        self._remove(keys=keys, args=[str(seq), key, count])

    def failed(self, key: str, seq: int) -> int:
        return int(self.r.hincrby(self._k("attempts", key), str(seq), 1))

    def pending_keys(self) -> list[str]:
        return sorted(k.decode() for k in self.r.smembers(self._k("inboxes")))

    def try_lock(self, key: str, owner: str, ttl: float) -> bool:
        return bool(self.r.set(self._k("lock", key), owner, nx=True, px=int(ttl * 1000)))

    def refresh_lock(self, key: str, owner: str, ttl: float) -> bool:
        return bool(self._if_owner(keys=[self._k("lock", key)], args=[owner, str(int(ttl * 1000))]))

    def unlock(self, key: str, owner: str) -> None:
        self._if_owner(keys=[self._k("lock", key)], args=[owner, ""])

    def lock_owner(self, key: str) -> str | None:
        raw = self.r.get(self._k("lock", key))
        return None if raw is None else str(raw.decode())

    def get(self, name: str) -> str | None:
        raw = self.r.get(self._k("kv", name))
        return None if raw is None else str(raw.decode())

    def put(self, name: str, value: str) -> None:
        self.r.set(self._k("kv", name), value, ex=self.retention if not name.startswith(self.keep) else None)

    def incr(self, name: str) -> int:
        return int(self.r.incr(self._k("counter", name)))

    def counter(self, name: str) -> int:
        return int(self.r.get(self._k("counter", name)) or 0)

    def prune(self, retention: float = RETENTION_SECONDS, keep: tuple[str, ...] = ()) -> int:
        return 0  # delivery ids and state records carry a TTL in Redis (set when written)

    def ping(self) -> None:
        self.r.ping()
