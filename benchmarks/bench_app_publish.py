"""Publishing through the App's real handlers: GitHub REST calls per merge, and publish time by repository size.

1. REST calls per delivery, counted by the fake GitHub (tests/github/fake_github.py, token fetches apart):
   a merge whose approvals the approval flow recorded, one without (reviews GET), its replay, the push
   GitHub sends for the merge, a direct push, a Flux event, and the protected-branch fallback.
   Budget (issue 6): <= 2 per merge.
2. Wall time of publishing a one-request merge through the handler (fetch, publish, history, comment) in a
   repository with --big requests vs --small (warm publish mirror, local bare remote), interleaved rounds;
   the part spent inside bot.adapters.git.publish.publish is shown apart. Target: big <= 2x small.

Run: /work/venv/bin/python benchmarks/bench_app_publish.py [--big 5000] [--small 10] [--rounds 9]
Exits 1 when a budget is exceeded or the fake saw a request GitHub would refuse.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import responses  # noqa: E402
from bench_publish import build, sh  # noqa: E402
from bench_publish import request as bench_request  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from bot.adapters.store.audit import AuditStore  # noqa: E402
from bot.app.events import Event  # noqa: E402
from bot.app.flows import publish as publishing  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.core.audit import Record  # noqa: E402
from tests.app.apptest import SECRET  # noqa: E402
from tests.app.publishtest import FLUX_SECRET, flux_body, make_bot, merge_pr, post_flux, protect, request, sync  # noqa: E402
from tests.github import github_payloads as gp  # noqa: E402
from tests.github.fake_git_remote import GitRemote  # noqa: E402
from tests.github.fake_github import FakeGitHub  # noqa: E402

REPO = "acme/platform"
ORDERS = "requests/dev/payments/orders.yaml"


def settings_for(tmp: Path, git_url: str, pem: str) -> Settings:
    data = tmp / "data"
    data.mkdir(parents=True)
    return Settings(webhook_secret=SECRET, app_id="4242", private_key=pem, git_url=git_url, data_dir=data,
                    queue_url=f"sqlite://{data / 'queue.db'}", github_throttle="off", flux_secret=FLUX_SECRET)


def count_calls(pem: str, fake: FakeGitHub) -> list[tuple[str, int, int | None]]:
    tmp = Path(tempfile.mkdtemp(prefix="pledge-bench-pub-calls-"))
    remote = GitRemote(tmp, ROOT / "tests" / "app" / "platform")
    bot = make_bot(settings_for(tmp, remote.url_template, pem), fake)
    rows: list[tuple[str, int, int | None]] = []

    def run(label: str, event: str, payload: dict[str, Any], budget: int | None) -> None:
        before = len(fake.calls)
        resp = bot.deliver(event, payload, str(uuid.uuid4()))
        assert resp.status_code == 202, resp.get_json()
        bot.work()
        rest = [c for c in fake.calls[before:] if not c.is_token]
        rows.append((label, len(rest), budget))
        print(f"  {label:<52} {len(rest)} call(s): {', '.join(c.op_id for c in rest) or '-'}")

    def merge(number: int, files: dict[str, str | None]) -> dict[str, Any]:
        base = remote.base_sha()
        sync(remote)
        head = remote.push_pr(number, files)
        return gp.merged_pull_request(number=number, head_sha=head, merge_sha=merge_pr(remote, number), base_sha=base)

    print("REST calls per delivery (token fetches counted apart):")
    first = merge(1, {ORDERS: request("orders")})
    AuditStore(bot.settings.data_dir).add(Record(REPO, 1, "approve", "carol", first["pull_request"]["head"]["sha"],
                                                 datetime.now(UTC), source="comment:1:1"))
    run("merge, approvals recorded by slash commands", "pull_request", first, 2)
    run("the same merge again (replay)", "pull_request", first, 0)
    push = gp.push(before=first["pull_request"]["base"]["sha"], after=first["pull_request"]["merge_commit_sha"],
                   files={ORDERS: "added"}, pushed_at=time.time() - 60)
    run("the push GitHub sends for that merge", "push", push, 0)
    second = merge(2, {"requests/dev/search/c2.yaml": request("c2", "search")})
    fake.add_review(REPO, 2, "bob")
    run("merge, approvers from reviews (1 GET)", "pull_request", second, 2)
    third = merge(3, {"requests/dev/payments/sessions.yaml": None})
    run("merge deleting a request", "pull_request", third, 2)
    before = remote.base_sha()
    sync(remote)
    after = remote.commit_base({"requests/prod/search/c9.yaml": request("c9", "search")}, "direct push")
    run("direct push to main (outside a PR)", "push", gp.push(before=before, after=after,
                                                              files={"requests/prod/search/c9.yaml": "added"},
                                                              pushed_at=time.time() - 60), 0)
    live = sh(remote.bare, "rev-parse", "main").strip()
    start = len(fake.calls)
    assert post_flux(bot.client, flux_body(sha=live)).status_code == 202
    bot.work()
    rest = [c for c in fake.calls[start:] if not c.is_token]
    rows.append(("Flux success covering merges #1-#3 (+ the push)", len(rest), None))
    print(f"  {'Flux success covering merges #1-#3 (+ the push)':<52} {len(rest)} call(s): "
          f"{', '.join(c.op_id for c in rest)}  (one comment per PR told)")
    fourth = merge(4, {"requests/dev/payments/c4.yaml": request("c4")})
    protect(remote)
    run("merge on a protected branch (render PR fallback)", "pull_request", fourth, None)
    return rows


def time_merges(pem: str, fake: FakeGitHub, small: int, big: int, rounds: int) -> dict[int, tuple[list, list]]:
    """{count: (handler seconds, publish() seconds)} over interleaved one-request merges."""
    envs: dict[int, tuple[Any, Path]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="pledge-bench-pub-time-"))
    for count in (small, big):
        root = tmp / str(count)
        root.mkdir()
        _bare, _worker, dev = build(root, count)
        (root / "remote" / "acme").mkdir(parents=True)
        (root / "remote" / "acme" / "platform.git").symlink_to(root / "remote.git")
        envs[count] = (make_bot(settings_for(root, f"file://{root}/remote/{{repo}}.git", pem), fake), dev)
    inner: list[float] = []
    real = publishing.publish

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            inner.append(time.perf_counter() - started)

    publishing.publish = timed  # type: ignore[assignment]
    times: dict[int, tuple[list, list]] = {count: ([], []) for count in envs}
    try:
        for n in range(rounds + 1):  # round 0 warms the publish mirror (its first fetch is a clone)
            for count, (bot, dev) in envs.items():
                number = 100 + n
                sh(dev, "checkout", "-q", "main")
                sh(dev, "pull", "-q", "--ff-only", "origin", "main")
                base = sh(dev, "rev-parse", "HEAD").strip()
                sh(dev, "checkout", "-q", "-B", f"pr-{number}", "main")
                path = dev / "requests" / "dev" / "team-03" / f"new{number}.yaml"
                path.write_text(bench_request(f"new{number}", "team-03"))
                sh(dev, "add", "-A")
                sh(dev, "commit", "-q", "-m", f"Add new{number}")
                head = sh(dev, "rev-parse", "HEAD").strip()
                sh(dev, "push", "-q", "origin", f"HEAD:refs/pull/{number}/head")
                sh(dev, "checkout", "-q", "main")
                sh(dev, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", f"pr-{number}")
                sh(dev, "push", "-q", "origin", "main")
                merge = sh(dev, "rev-parse", "HEAD").strip()
                AuditStore(bot.settings.data_dir).add(Record(REPO, number, "approve", "bob", head,
                                                             datetime.now(UTC), source=f"comment:{number}:1"))
                payload = gp.merged_pull_request(number=number, head_sha=head, merge_sha=merge, base_sha=base)
                inner.clear()
                started = time.perf_counter()
                bot.queue.processor(Event("pull_request", str(uuid.uuid4()), payload))
                elapsed = time.perf_counter() - started
                assert f"Pledge-PR: #{number}" in sh(dev.parent / "remote.git", "log", "-1", "--format=%B", "main")
                if n:
                    times[count][0].append(elapsed)
                    times[count][1].append(sum(inner))
    finally:
        publishing.publish = real  # type: ignore[assignment]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=5000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    publishing.PUSH_DELAY = 0.0
    fake = FakeGitHub(app_id=4242, public_key=public)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        rows = count_calls(pem, fake)
        print(f"\nPublishing a one-request merge through the handler ({args.rounds} interleaved rounds, warm mirror):")
        times = time_merges(pem, fake, args.small, args.big, args.rounds)
    medians = {}
    for count, (total, inner) in times.items():
        medians[count] = statistics.median(total)
        print(f"  {count:>5} requests: handler median {medians[count] * 1000:.0f} ms (min {min(total) * 1000:.0f}, "
              f"max {max(total) * 1000:.0f}); inside publish() median {statistics.median(inner) * 1000:.0f} ms")
    ratio = medians[args.big] / medians[args.small]
    print(f"ratio {args.big}/{args.small}: {ratio:.2f}x (target <= 2x) {'OK' if ratio <= 2 else 'OVER'}")
    over = [r for r in rows if r[2] is not None and r[1] > r[2]]
    for label, calls, budget in over:
        print(f"OVER BUDGET: {label}: {calls} > {budget}")
    if fake.violations:
        print("OpenAPI violations:", *fake.violations, sep="\n  ")
    return 1 if over or fake.violations or ratio > 2 else 0


if __name__ == "__main__":
    raise SystemExit(main())
