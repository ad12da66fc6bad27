"""Ack latency of POST /webhook next to a bare Flask endpoint that only answers 202, on the same gunicorn.

1,000 signed pull_request deliveries (real payloads, ~27 KB) and 1,000 posts of the same bodies to /bare,
interleaved at random over 20 concurrent clients (a new connection per request, like GitHub), while a real
worker processes the deliveries against the fake GitHub over HTTP and a local git remote. Then waits until
every delivery is processed and counts them (zero lost). Budget (issue 4): p99 <= 2x the bare endpoint's.

Run: python benchmarks/bench_app_latency.py [--deliveries 1000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from bot.app.web import create_app  # noqa: E402

PLATFORM = ROOT / "tests" / "app" / "platform"


def make_app() -> Flask:
    """The production app plus POST /bare (202, nothing else), served by the same gunicorn workers."""
    app = create_app()

    @app.post("/bare")
    def bare() -> tuple[str, int]:
        return "", 202

    return app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--prs", type=int, default=50, help="pull requests the deliveries are spread over")
    parser.add_argument("--worker-after", action="store_true", help="start the worker only after the load")
    parser.add_argument("--gunicorn", default="", help="extra gunicorn options, e.g. '--workers 4'")
    args = parser.parse_args()

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.adapters.store.journal import SqliteJournal
    from bot.app.queue import PROCESSED
    from bot.app.settings import Settings
    from tests.app.live import LiveApp, wait_until
    from tests.github import github_payloads as gp
    from tests.github.fake_git_remote import GitRemote
    from tests.github.fake_github_server import serve

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    tmp = Path(tempfile.mkdtemp(prefix="pledge-bench-latency-"))
    remote = GitRemote(tmp, PLATFORM)
    heads = {n: remote.push_pr(n, {f"docs/pr-{n}.md": "notes\n"}) for n in range(1, args.prs + 1)}
    data = tmp / "data"
    data.mkdir()

    with serve(app_id=4242, public_key=public) as fake:
        settings = Settings(webhook_secret="bench-secret", app_id="4242", private_key=pem,
                            github_api_url=fake.base_url, git_url=remote.url_template, data_dir=data,
                            queue_url=f"sqlite://{data / 'queue.db'}", github_throttle="off", log_level="WARNING")
        from tests.app.apptest import process_env

        env = process_env(dataclasses.replace(settings))
        env["PYTHONPATH"] = f"{ROOT}:{ROOT / 'benchmarks'}:{ROOT / 'tests' / 'github'}:{ROOT / 'tests' / 'app'}"
        bodies = []
        for i in range(args.deliveries):
            n = i % args.prs + 1
            bodies.append(json.dumps(gp.pull_request("synchronize", number=n, head_sha=heads[n])).encode())
        work = [("webhook", i) for i in range(args.deliveries)] + [("bare", i) for i in range(args.deliveries)]
        random.Random(4).shuffle(work)
        latencies: dict[str, list[float]] = {"webhook": [], "bare": []}
        statuses: dict[str, dict[int, int]] = {"webhook": {}, "bare": {}}
        lock = threading.Lock()

        with LiveApp(env, tmp / "logs", app="bench_app_latency:make_app()",
                     gunicorn_args=tuple(args.gunicorn.split())) as app:
            app.start_web()
            if not args.worker_after:
                app.start_worker()
            for i in range(20):  # warm up both paths (imports, connections)
                app.deliver("ping", gp.ping(), f"warm-{i}")
                app.deliver("pull_request", bodies[0], f"warm-{i}", path="/bare")

            def one(item: tuple[str, int]) -> None:
                kind, i = item
                start = time.perf_counter()
                if kind == "webhook":
                    status, _ = app.deliver("pull_request", bodies[i], f"bench-{i}")
                else:
                    status, _ = app.deliver("pull_request", bodies[i], f"bare-{i}", path="/bare")
                elapsed = time.perf_counter() - start
                with lock:
                    latencies[kind].append(elapsed)
                    statuses[kind][status] = statuses[kind].get(status, 0) + 1

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(one, work))
            load_seconds = time.perf_counter() - started
            if args.worker_after:
                app.start_worker()
            journal = SqliteJournal(settings.sqlite_path)
            acked = statuses["webhook"].get(202, 0)
            wait_until(lambda: journal.counter(PROCESSED) >= acked, 600, "every delivery processed")
            drain_seconds = time.perf_counter() - started
            time.sleep(1.0)
            processed = journal.counter(PROCESSED)
            runs = len(fake.check_runs)
            violations = list(fake.violations)

    print(f"ack latency, {args.deliveries} deliveries + {args.deliveries} bare posts interleaved, "
          f"concurrency {args.concurrency}, gunicorn (bot/app/gunicorn_conf.py) on loopback, worker running:")
    print(f"  {'endpoint':<10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}  statuses")
    for kind in ("webhook", "bare"):
        ms = [v * 1000 for v in latencies[kind]]
        print(f"  {kind:<10} {percentile(ms, 0.5):8.2f} {percentile(ms, 0.9):8.2f} {percentile(ms, 0.99):8.2f} "
              f"{max(ms):8.2f} {statistics.fmean(ms):8.2f}  {statuses[kind]}")
    p99 = percentile(latencies["webhook"], 0.99)
    p99_bare = percentile(latencies["bare"], 0.99)
    ratio = p99 / p99_bare
    print(f"  p99 ratio webhook/bare: {ratio:.2f} (budget <= 2.00)")
    print(f"  load took {load_seconds:.1f}s; all processed after {drain_seconds:.1f}s")
    print(f"  deliveries acked 202: {acked}; processed: {processed}; lost: {acked - processed}; "
          f"check runs at the fake GitHub: {runs}; OpenAPI violations: {len(violations)}")
    ok = ratio <= 2.0 and acked == args.deliveries and processed == acked and runs == acked and not violations
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
