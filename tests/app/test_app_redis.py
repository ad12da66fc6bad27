"""Scale-out on Redis: gunicorn takes a burst of deliveries, two worker processes share the work; each
delivery is processed exactly once and every pull request's deliveries run in arrival order."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.app.settings import Settings
from tests.app.apptest import ROOT, process_env
from tests.app.live import LiveApp, wait_until
from tests.github import github_payloads as gp

HERE = Path(__file__).parent


@pytest.mark.redis
@pytest.mark.e2e
def test_two_workers_on_redis_process_each_delivery_once_in_per_pr_order(
        settings: Settings, redis_url: str, tmp_path: Path) -> None:
    redis_settings = dataclasses.replace(settings, queue_url=redis_url)
    env = process_env(redis_settings)
    log = tmp_path / "processed.log"
    prs, per_pr = 8, 10
    with LiveApp(env, tmp_path / "logs", gunicorn_args=("--workers", "2")) as app:
        app.start_web()
        assert app.request("GET", "/readyz") == (200, {"status": "ready", "queue": "redis"})
        workers = [subprocess.Popen([sys.executable, "-m", "tests.app.recording_worker", str(log), "", "0.03"],
                                    env=env, stderr=subprocess.DEVNULL, cwd=ROOT) for _ in range(2)]
        app.workers.extend(workers)

        def send_pr(number: int) -> list[tuple[int, object]]:
            answers = []
            for i in range(per_pr):
                payload = gp.pull_request("synchronize", number=number, head_sha=f"{number:02d}{i:038d}")
                answers.append(app.deliver("pull_request", payload, f"{number}-{i}"))
                if i % 3 == 0:  # GitHub redelivering the same delivery: acknowledged, not queued again
                    answers.append(app.deliver("pull_request", payload, f"{number}-{i}"))
            return answers

        with ThreadPoolExecutor(prs) as pool:
            answers = [a for batch in pool.map(send_pr, range(1, prs + 1)) for a in batch]
        assert sum(1 for a in answers if a == (202, {"status": "queued"})) == prs * per_pr
        assert sum(1 for a in answers if a == (200, {"status": "duplicate"})) == prs * 4
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= prs * per_pr, 60, "all processed")
        time.sleep(0.5)  # anything processed twice would show up now
    lines = [line.split() for line in log.read_text().splitlines()]
    delivered = [d for _pid, _key, d in lines]
    assert sorted(delivered) == sorted(f"{n}-{i}" for n in range(1, prs + 1) for i in range(per_pr))
    for n in range(1, prs + 1):
        assert [d for _p, k, d in lines if k == f"acme/platform#{n}"] == [f"{n}-{i}" for i in range(per_pr)]
    by_process = {pid for pid, _k, _d in lines}
    assert len(by_process) == 2, f"one worker did everything: {json.dumps(sorted(by_process))}"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_journal_backends_behave_alike(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from bot.adapters.store.journal import Journal, RedisJournal, SqliteJournal

    if backend == "redis":
        import redis

        journal: Journal = RedisJournal(redis.Redis.from_url(request.getfixturevalue("redis_url")), prefix="t")
    else:
        journal = SqliteJournal(tmp_path / "j.db")
    assert journal.accept("r#1", "pull_request", "d1", "{}") == 1  # first pending of its key
    assert journal.accept("r#1", "pull_request", "d1", "{}") == 0  # seen before
    assert journal.accept("r#2", "pull_request", "d2", "{}") == 1
    assert journal.accept("r#1", "pull_request", "d3", '{"x": 1}') == 2  # behind d1
    assert journal.pending_keys() == ["r#1", "r#2"]
    head = journal.head("r#1")
    assert head is not None and (head.delivery_id, head.attempts) == ("d1", 0)
    assert journal.failed("r#1", head.seq) == 1 and journal.failed("r#1", head.seq) == 2
    journal.remove("r#1", head.seq)
    nxt = journal.head("r#1")
    assert nxt is not None and (nxt.delivery_id, nxt.body, nxt.attempts) == ("d3", '{"x": 1}', 0)
    journal.remove("r#1", head.seq)  # removing a stale seq is a no-op
    assert journal.head("r#1") == nxt
    journal.remove("r#1", nxt.seq)
    assert journal.head("r#1") is None and journal.pending_keys() == ["r#2"]

    assert journal.try_lock("r#2", "me", 0.3) and not journal.try_lock("r#2", "you", 5)
    journal.unlock("r#2", "you")  # not the owner: no effect
    assert journal.lock_owner("r#2") == "me" and journal.refresh_lock("r#2", "me", 0.3)
    assert not journal.refresh_lock("r#2", "you", 5)
    time.sleep(0.4)
    assert journal.lock_owner("r#2") is None and journal.try_lock("r#2", "you", 5)
    journal.unlock("r#2", "you")
    assert journal.lock_owner("r#2") is None

    journal.put("comment:r#1", "17")
    assert journal.get("comment:r#1") == "17" and journal.get("nope") is None
    assert journal.incr("n") == 1 and journal.incr("n") == 2 and journal.counter("n") == 2
    journal.ping()
