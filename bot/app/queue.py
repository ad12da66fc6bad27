"""The durable queue: Huey (SQLite by default, Redis for scale-out) plus per-PR inboxes processed in order."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from huey.exceptions import RetryTask
from huey.storage import SqliteStorage

from bot.adapters.errors import RetryLater
from bot.adapters.store.journal import RETENTION_SECONDS, Journal, RedisJournal, SqliteJournal
from bot.adapters.store.records import NEVER_EXPIRE
from bot.app.events import Event
from bot.app.settings import Settings

log = logging.getLogger("pledge.queue")

HUEY_NAME = "pledge"
PROCESSED = "processed"  # counter of deliveries handled (benchmarks count lost ones with it)
GAVE_UP = "gave-up"
KEEP = tuple(f"{kind}:" for kind in NEVER_EXPIRE)  # state records that never expire

Processor = Callable[[Event], None]


class _SqliteStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL: in WAL mode a commit survives the process being
    killed and the file stays consistent on power loss; only the last commits may be lost then."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=normal")
        return conn


class Queue:
    """Intake calls submit(); worker processes run drain(key), which holds the key's lock while it
    handles that key's deliveries oldest first, so one PR's work is ordered and PRs run in parallel."""

    def __init__(
        self,
        huey: Huey,
        journal: Journal,
        *,
        lock_ttl: float = 900.0,
        retry_delays: Sequence[float] = (10, 60, 300, 900),
        max_attempts: int = 5,
        retention: float = RETENTION_SECONDS,
    ) -> None:
        self.retention = retention
        self.huey = huey
        self.journal = journal
        self.lock_ttl = lock_ttl
        self.retry_delays = tuple(retry_delays)
        self.max_attempts = max_attempts
        self.processor: Processor | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._recovered = False
        self._drain_task = huey.task(name="drain")(self.drain)
        huey.periodic_task(crontab(minute="*"), name="sweep")(self.sweep)
        huey.on_startup("pledge-recover")(self._recover_once)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Queue:
        retention = settings.retention_days * 24 * 3600.0
        options.setdefault("retention", retention)
        if settings.queue_kind == "redis":
            huey: Huey = RedisHuey(HUEY_NAME, url=settings.queue_url, results=False)
            journal: Journal = RedisJournal(huey.storage.conn, prefix=HUEY_NAME, retention=retention, keep=KEEP)
        else:
            path = settings.sqlite_path
            path.parent.mkdir(parents=True, exist_ok=True)
            huey = SqliteHuey(HUEY_NAME, filename=str(path), results=False, storage_class=_SqliteStorage)
            journal = SqliteJournal(path)
        return cls(huey, journal, **options)

    # -- intake side ---------------------------------------------------------------------------

    def submit(self, event: Event, body: str) -> bool:
        """Persist the delivery and wake a worker; False (and nothing queued) for a seen delivery id.
        A key that already had deliveries pending has a wake-up on its way (or a drain running, which
        looks at the inbox again before it stops), so only the first pending delivery enqueues a task."""
        key = event.key
        pending = self.journal.accept(key, event.name, event.delivery_id, body)
        if pending == 0:
            return False
        if pending == 1:
            self._drain_task(key)
        return True

    def ping(self) -> None:
        """Raise when the storage cannot be reached."""
        self.journal.ping()
        self.huey.pending_count()

    # -- worker side ---------------------------------------------------------------------------

    def drain(self, key: str) -> None:
        """Handle every pending delivery of `key` in arrival order, unless another worker already is."""
        while True:
            if not self.journal.try_lock(key, self.owner, self.lock_ttl):
                return  # the holder looks at the inbox again after releasing the lock
            retry: float | None = None
            fresh = True  # the lock was just taken: no need to extend it for the first delivery
            try:
                while (item := self.journal.head(key)) is not None:
                    if not fresh:
                        self.journal.refresh_lock(key, self.owner, self.lock_ttl)
                    fresh = False
                    retry, outcome = self._process(item.key, item.seq, item.name, item.delivery_id, item.body)
                    if retry is not None:
                        break
                    self.journal.remove(key, item.seq, count=outcome)
            finally:
                self.journal.unlock(key, self.owner)
            if retry is not None:
                raise RetryTask(f"{key}: retry in {retry:.1f}s", delay=retry)
            if self.journal.head(key) is None:
                return

    def _process(self, key: str, seq: int, name: str, delivery_id: str, body: str) -> tuple[float | None, str]:
        """Run the processor on one delivery: (delay before retrying it, or None when it is done; the counter
        to count it in)."""
        if self.processor is None:
            raise RuntimeError("this process has no processor: run the worker (python -m bot.app.worker)")
        event = Event.parse(name, delivery_id, body)
        started = time.monotonic()
        try:
            self.processor(event)
        except RetryLater as exc:
            log.warning("%s: %s", event.describe(), exc)
            return exc.delay, ""
        except Exception:
            attempts = self.journal.failed(key, seq)
            if attempts >= self.max_attempts:
                log.exception("%s: failed %d times, giving up", event.describe(), attempts)
                return None, GAVE_UP
            delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1] if self.retry_delays else 0.0
            log.exception("%s: attempt %d failed, retrying in %.0fs", event.describe(), attempts, delay)
            return delay, ""
        log.info("%s: done in %.2fs", event.describe(), time.monotonic() - started)
        return None, PROCESSED

    def sweep(self) -> int:
        """Wake a drain for every key with pending deliveries and no live lock; forget old delivery ids."""
        woken = 0
        for key in self.journal.pending_keys():
            owner = self.journal.lock_owner(key)
            if owner is not None and self._owner_is_dead(owner):
                log.warning("%s: lock of a dead worker (%s) released", key, owner)
                self.journal.unlock(key, owner)
                owner = None
            if owner is None:
                self._drain_task(key)
                woken += 1
        self.journal.prune(self.retention, KEEP)
        return woken

    def _recover_once(self) -> None:
        if not self._recovered:  # Huey calls startup hooks once per worker thread
            self._recovered = True
            woken = self.sweep()
            if woken:
                log.info("recovered %d pull request(s) with deliveries left from before a restart", woken)

    def _owner_is_dead(self, owner: str) -> bool:
        """A lock held by a process of this host that is gone (or an earlier life of this very pid)."""
        host, _, rest = owner.partition(":")
        pid_text, _, _token = rest.partition(":")
        if host != socket.gethostname() or not pid_text.isdigit():
            return False  # another machine: wait for the TTL
        if int(pid_text) == os.getpid():
            return owner != self.owner
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def consumer(self, workers: int) -> Consumer:
        """Huey's consumer: `workers` threads plus the scheduler (retries, the periodic sweep)."""
        return self.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=True, max_delay=0.5, check_worker_health=True
        )

    def run_pending(self, max_tasks: int = 10_000, include_scheduled: bool = False) -> int:
        """Execute queued tasks in this thread until none is left (tests and benchmarks); with
        include_scheduled, tasks waiting for a retry delay run now instead of later."""
        done = 0
        while done < max_tasks:
            task = self.huey.dequeue()
            if task is None and include_scheduled:
                task = self._pop_scheduled()
            if task is None:
                return done
            self.huey.execute(task)
            done += 1
        return done

    def _pop_scheduled(self) -> Any:
        far_future = self.huey._get_timestamp().replace(year=9999)
        tasks = self.huey.read_schedule(far_future)
        for task in tasks:
            task.eta = None
        for task in tasks[1:]:
            self.huey.enqueue(task)
        return tasks[0] if tasks else None
