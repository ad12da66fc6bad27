"""Publishing merges through the App: real git (a bare remote in tmp_path), the fake GitHub, the real router."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.adapters.errors import RetryLater
from bot.adapters.git.publish import PublishRace
from bot.adapters.store.audit import AuditStore
from bot.adapters.store.history import History, history_rows
from bot.app.events import Event
from bot.app.flows import publish as publishing
from bot.app.routes import match
from bot.app.settings import Settings
from bot.cli import main
from bot.core.audit import Record
from bot.core.paths import CATALOG_DIRS, CONFIG_PATH, REQUESTS, is_input
from tests.app.apptest import Bot
from tests.app.publishtest import (
    REPO,
    commits,
    deliver,
    drift,
    fast_publishing,
    make_bot,
    open_and_merge,
    protect,
    pub,
    rendered,
    request,
    sync,
    tip_message,
    unprotect,
)
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote
from tests.github.fake_github import FakeGitHub

__all__ = ["fast_publishing", "pub"]
ORDERS = "requests/dev/payments/orders.yaml"
SESSIONS = "requests/dev/payments/sessions.yaml"


def ops(bot: Bot, start: int = 0) -> list[str]:
    return [c.op_id for c in bot.fake.calls[start:] if not c.is_token]


def published_comments(fake: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in fake.comments_on(REPO, number) if c["body"].startswith(publishing.MARKER)]


def test_the_router_sends_merges_pushes_and_flux_events_to_publishing() -> None:
    sha = "a" * 40
    merged = Event("pull_request", "d", gp.merged_pull_request(head_sha=sha, merge_sha="b" * 40))
    closed = Event("pull_request", "d", gp.pull_request("closed", head_sha=sha))
    push = Event("push", "d", gp.push(before=sha, after="b" * 40, files={ORDERS: "added"}))
    docs = Event("push", "d", gp.push(before=sha, after="b" * 40, files={"README.md": "modified"}))
    ours = Event("push", "d", gp.push(before=sha, after="b" * 40, files={ORDERS: "added"}, pusher="pledge-app[bot]",
                                      sender_type="Bot"))
    feature = Event("push", "d", {**push.payload, "ref": "refs/heads/feature"})
    flux = Event("flux", "d", {"repository": {"full_name": REPO}, "body": "{}"})
    assert [getattr(match(e), "handler", None) for e in (merged, closed, push, docs, ours, feature, flux)] == [
        "publish_merge", "pull_request_closed", "publish_push", None, None, None, "flux_event"]
    assert all(is_input(f"{top}/x/y/z.yaml") for top in (REQUESTS, *CATALOG_DIRS)) and is_input(CONFIG_PATH)
    assert not is_input("docs/x.md") and not is_input("environments/dev/kustomization.yaml")


def test_merged_pr_is_rendered_pushed_and_told_in_one_comment(pub: Bot, remote: GitRemote) -> None:
    payload = open_and_merge(pub, remote, 7, {ORDERS: request("orders")}, check=True, title="Add orders cache")
    pub.fake.add_review(REPO, 7, "bob", "APPROVED", payload["pull_request"]["head"]["sha"])
    pub.fake.add_review(REPO, 7, "mallory", "COMMENTED")
    start = len(pub.fake.calls)
    assert deliver(pub, "pull_request", payload) == 202
    assert ops(pub, start) == ["pulls/list-reviews", "issues/create-comment"]

    message = tip_message(remote)
    assert message.startswith("Pledge: render #7 Add orders cache")
    for trailer in (f"Pledge-Request: {ORDERS}", "Pledge-PR: #7", "Requested-by: alice", "Approved-by: bob <bob>",
                    f"Pledge-Rendered-From: {payload['pull_request']['merge_commit_sha']}"):
        assert trailer in message.splitlines()
    assert "mallory" not in message
    assert drift(remote.bare) == {}  # `pledge render --check` on main finds nothing to do
    assert any(p.startswith("environments/dev/payments/") and "orders" in p for p in rendered(remote.bare))

    (body,) = published_comments(pub.fake, 7)
    live = commits(remote)[0]
    assert f"[`{live[:12]}`](https://github.com/{REPO}/commit/{live})" in body
    assert "- **dev**:" in body and "orders" in body

    (row,) = [r for r in history_rows(pub.settings.data_dir / "history" / "acme" / "platform") if r["pr"] == 7]
    assert row["request"] == ORDERS and row["commit"] == live
    assert all(row[stage] for stage in ("opened", "checked", "merged", "rendered")) and row["applied"] is None
    out = CliRunner().invoke(main, ["history", "--data-dir", str(pub.settings.data_dir), "--repo-name", REPO])
    assert out.exit_code == 0 and ORDERS in out.output and "#7" in out.output


def test_approvals_recorded_by_slash_commands_need_no_review_call(pub: Bot, remote: GitRemote) -> None:
    payload = open_and_merge(pub, remote, 7, {ORDERS: request("orders")})
    head = payload["pull_request"]["head"]["sha"]
    audit = AuditStore(pub.settings.data_dir)
    audit.add(Record(REPO, 7, "approve", "carol", head, datetime.now(UTC), source="comment:1:1"))
    audit.add(Record(REPO, 7, "approve", "alice", head, datetime.now(UTC), source="comment:2:1"))  # the author
    audit.add(Record(REPO, 7, "hold", "dave", head, datetime.now(UTC), source="comment:3:1"))
    audit.add(Record(REPO, 7, "unhold", "dave", head, datetime.now(UTC), source="comment:4:1"))
    start = len(pub.fake.calls)
    deliver(pub, "pull_request", payload)
    assert ops(pub, start) == ["issues/create-comment"]
    lines = tip_message(remote).splitlines()
    assert "Approved-by: carol <carol>" in lines and not any("alice <alice>" in line for line in lines)
    assert "Held-by: dave <dave>" in lines and "Unheld-by: dave <dave>" in lines  # every decision is in the trail


def test_replaying_a_merge_makes_no_commit_and_no_second_comment(pub: Bot, remote: GitRemote) -> None:
    payload = open_and_merge(pub, remote, 7, {ORDERS: request("orders")})
    deliver(pub, "pull_request", payload)
    before, start = commits(remote), len(pub.fake.calls)
    assert deliver(pub, "pull_request", payload) == 202  # a new delivery id: not deduplicated at intake
    assert commits(remote) == before and ops(pub, start) == []

    # a crash after the POST but before it was noted: the retry finds the comment by its marker
    pub.ctx.journal.put(f"published:{REPO}#7", "commenting")
    deliver(pub, "pull_request", payload)
    assert commits(remote) == before
    assert ops(pub, start) == ["issues/list-comments"]
    assert len(published_comments(pub.fake, 7)) == 1


def test_deletion_and_move_remove_the_rendered_folders(pub: Bot, remote: GitRemote) -> None:
    deliver(pub, "pull_request", open_and_merge(pub, remote, 7, {ORDERS: request("orders")}))
    assert any("sessions" in p for p in rendered(remote.bare))
    deliver(pub, "pull_request", open_and_merge(pub, remote, 8, {SESSIONS: None}, title="Drop sessions"))
    assert not any("sessions" in p for p in rendered(remote.bare))
    assert f"Pledge-Request: {SESSIONS}" in tip_message(remote).splitlines()
    (body,) = published_comments(pub.fake, 8)
    assert "~~`environments/dev/payments/" in body  # removed paths are struck through

    moved = "requests/prod/search/orders.yaml"
    deliver(pub, "pull_request", open_and_merge(pub, remote, 9, {ORDERS: None, moved: request("orders", "search")},
                                                how="squash", title="Move orders to prod"))
    files = rendered(remote.bare)
    assert any(p.startswith("environments/prod/search/") for p in files)
    assert not any(p.startswith("environments/dev/payments/") and "orders" in p for p in files)
    assert {f"Pledge-Request: {ORDERS}", f"Pledge-Request: {moved}"} <= set(tip_message(remote).splitlines())
    assert drift(remote.bare) == {}


def test_a_protected_branch_gets_a_labelled_render_pr(pub: Bot, remote: GitRemote) -> None:
    payload = open_and_merge(pub, remote, 7, {ORDERS: request("orders")})
    protect(remote)
    before, start = commits(remote), len(pub.fake.calls)
    deliver(pub, "pull_request", payload)
    assert commits(remote) == before  # nothing reached main
    assert ops(pub, start) == ["pulls/list-reviews", "pulls/create", "issues/add-labels", "issues/create-comment"]
    ((number, pr),) = [(n, p) for (r, n), p in pub.fake.pulls.items() if p.get("head_ref") == "pledge/render-pr-7"]
    assert pub.fake.labels[(REPO, number)] == ["pledge-render"] and pr["base_ref"] == "main"
    (body,) = published_comments(pub.fake, 7)
    assert "`main` is protected" in body and f"Render pull request: #{number}" in body
    assert "Pledge-PR: #7" in tip_message(remote, "pledge/render-pr-7")

    start = len(pub.fake.calls)
    pub.ctx.journal.put(f"published:{REPO}#7", "rendered")  # as if the comment had not been posted yet
    deliver(pub, "pull_request", payload)
    assert ops(pub, start) == ["issues/create-comment"]  # no second render PR

    # the render PR is merged (with a merge commit): PR 7's render is on main and awaits Flux
    unprotect(remote)
    render_head = commits(remote, "pledge/render-pr-7")[0]
    sync(remote)
    from tests.github.fake_git_remote import git

    git(remote.work, "fetch", "-q", "origin", "pledge/render-pr-7")
    git(remote.work, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", "FETCH_HEAD")
    git(remote.work, "push", "-q", "origin", "main")
    git(remote.bare, "update-ref", f"refs/pull/{number}/head", render_head)
    merged = gp.merged_pull_request(number=number, head_sha=render_head, merge_sha=commits(remote)[0],
                                    head_ref="pledge/render-pr-7", title="Pledge: render #7", author="pledge-app[bot]")
    start = len(pub.fake.calls)
    deliver(pub, "pull_request", merged)
    assert ops(pub, start) == []
    pending = History(pub.settings.data_dir / "history" / "acme" / "platform").pending("dev")
    assert {(p.sha, p.pr) for p in pending} == {(render_head, 7), (merged["pull_request"]["merge_commit_sha"], 7)}
    assert drift(remote.bare) == {}


def test_concurrent_merges_by_two_workers_end_in_a_full_render(settings: Settings, fake: FakeGitHub,
                                                               remote: GitRemote, tmp_path: Path) -> None:
    """Two workers on two machines (own data directories and mirrors) publish merges while more land: they
    race through git's compare-and-swap; main ends equal to a full render and each PR is told once."""
    workers = [make_bot(settings, fake, tmp_path / f"machine{i}") for i in (1, 2)]
    inbox: queue.Queue[dict[str, object] | None] = queue.Queue()
    errors: list[BaseException] = []
    retries: list[int] = []
    numbers = range(10, 20)

    def work(bot: Bot) -> None:
        while (payload := inbox.get()) is not None:
            try:
                publishing.publish_merge(bot.ctx, Event("pull_request", "x", payload))
            except RetryLater:  # lost every race of one round: the queue tries the delivery again later
                retries.append(1)
                inbox.put(payload)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                inbox.task_done()

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for n in numbers:  # merges keep landing while the workers push renders
        team, env = ("payments", "search")[n % 2], ("dev", "prod")[n % 3 == 0]
        inbox.put(open_and_merge(workers[0], remote, n, {f"requests/{env}/{team}/c{n}.yaml": request(f"c{n}", team)}))
    inbox.join()
    for _ in threads:
        inbox.put(None)
    for t in threads:
        t.join(120)
    assert errors == []
    assert drift(remote.bare) == {}  # nothing lost: main equals render(all requests)
    files = rendered(remote.bare)
    assert all(any(f"c{n}" in p for p in files) for n in numbers)
    assert all(len(published_comments(fake, n)) == 1 for n in numbers)
    trailers = "\n".join(tip_message(remote, c) for c in commits(remote))
    assert all(f"Pledge-PR: #{n}" in trailers or f"/c{n}.yaml" in trailers for n in numbers)


def test_a_push_outside_a_pr_is_rendered_without_approvers(pub: Bot, remote: GitRemote) -> None:
    before = remote.base_sha()
    sync(remote)
    after = remote.commit_base({ORDERS: request("orders")}, "hotfix straight to main")
    start = len(pub.fake.calls)
    assert deliver(pub, "push", gp.push(before=before, after=after, files={ORDERS: "added"})) == 202
    message = tip_message(remote).splitlines()
    assert f"Pledge-Push: {after}" in message and "Requested-by: admin" in message
    assert not any(line.startswith(("Approved-by", "Pledge-PR")) for line in message)
    assert ops(pub, start) == [] and drift(remote.bare) == {}
    rows = history_rows(pub.settings.data_dir / "history" / "acme" / "platform", request=ORDERS)
    assert [(r["pr"], r["commit"]) for r in rows] == [(None, commits(remote)[0])]


def test_a_merge_push_waits_for_the_prs_own_job(pub: Bot, remote: GitRemote, monkeypatch: pytest.MonkeyPatch) -> None:
    before = remote.base_sha()
    payload = open_and_merge(pub, remote, 7, {ORDERS: request("orders")})
    merge = payload["pull_request"]["merge_commit_sha"]
    monkeypatch.setattr(publishing, "PUSH_DELAY", 30.0)
    assert deliver(pub, "push", gp.push(before=before, after=merge, files={ORDERS: "added"})) == 202
    assert commits(remote)[0] == merge  # the push waits
    deliver(pub, "pull_request", payload)
    assert "Pledge-PR: #7" in tip_message(remote)
    rendered_at = commits(remote)
    monkeypatch.setattr(publishing, "PUSH_DELAY", 0.0)
    pub.work(include_scheduled=True)  # the push's turn: main is up to date
    assert commits(remote) == rendered_at and pub.queue.journal.pending_keys() == []


def test_a_merge_that_changes_no_request_publishes_nothing(pub: Bot, remote: GitRemote) -> None:
    payload = open_and_merge(pub, remote, 7, {"README.md": "docs\n"})
    before, start = commits(remote), len(pub.fake.calls)
    deliver(pub, "pull_request", payload)
    assert commits(remote) == before and ops(pub, start) == []


def test_a_broken_pledge_yaml_is_told_once(pub: Bot, remote: GitRemote) -> None:
    payload = open_and_merge(pub, remote, 7, {CONFIG_PATH: "environments: [\n"})
    deliver(pub, "pull_request", payload)
    deliver(pub, "pull_request", payload)
    (body,) = published_comments(pub.fake, 7)
    assert "could not publish" in body and "pledge.yaml" in body


def test_a_lost_race_is_retried_later(pub: Bot, remote: GitRemote, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = open_and_merge(pub, remote, 7, {ORDERS: request("orders")})
    monkeypatch.setattr(publishing, "RACE_DELAY", 5.0)
    real, calls = publishing.publish, []

    def lose_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise PublishRace("main moved under every one of 5 attempts; retry later")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publishing, "publish", lose_once)
    deliver(pub, "pull_request", payload)
    assert len(calls) == 1 and pub.queue.journal.pending_keys() == [f"{REPO}#7"]
    pub.work(include_scheduled=True)
    assert len(calls) == 2 and "Pledge-PR: #7" in tip_message(remote)
    assert len(published_comments(pub.fake, 7)) == 1
