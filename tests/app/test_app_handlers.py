"""Handlers through the router: re-runs, forks, close, reopen without state, comment lifecycle, faults."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.adapters.git.mirror import Mirror, MirrorError
from bot.adapters.store.journal import SqliteJournal
from bot.app.dispatch import Dispatcher
from bot.app.events import Event
from bot.core.report import Report
from tests.app.apptest import Bot
from tests.app.test_app_flow import BAD, GOOD, open_pr
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote

REQ = "requests/dev/payments/orders.yaml"


def ops_since(bot: Bot, start: int) -> list[str]:
    return [c.op_id for c in bot.fake.calls[start:] if not c.is_token]


def test_check_run_rerequest_makes_a_new_run(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {REQ: GOOD})
    start = len(bot.fake.calls)
    assert bot.deliver("check_run", gp.check_run_rerequested(number=7, head_sha=sha)).status_code == 202
    bot.work()
    assert len(bot.fake.runs_for(sha)) == 2
    assert ops_since(bot, start) == ["checks/create", "checks/update", "issues/update-comment"]


def test_rerequest_of_a_fork_pr_reads_the_base_from_the_pull(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {REQ: GOOD})
    bot.fake.add_pull("acme/platform", 7, base_ref="main", head_sha=sha)
    start = len(bot.fake.calls)
    bot.deliver("check_run", gp.check_run_rerequested(number=7, head_sha=sha, fork=True))
    bot.work()
    assert ops_since(bot, start)[0] == "pulls/get"
    assert len(bot.fake.runs_for(sha)) == 2


def test_check_suite_rerequest_without_listed_prs_finds_them(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {REQ: GOOD})
    bot.fake.add_pull("acme/platform", 7, base_ref="main", head_sha=sha)
    start = len(bot.fake.calls)
    bot.deliver("check_suite", gp.check_suite_rerequested(numbers=(), head_sha=sha))
    bot.work()
    assert ops_since(bot, start)[:2] == ["repos/list-pull-requests-associated-with-commit", "pulls/get"]
    assert len(bot.fake.runs_for(sha)) == 2


def test_check_suite_rerequest_with_its_pr(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {REQ: BAD})
    bot.deliver("check_suite", gp.check_suite_rerequested(numbers=(7,), head_sha=sha))
    bot.work()
    assert [r["conclusion"] for r in bot.fake.runs_for(sha)] == ["failure", "failure"]


def test_closed_drops_the_mirror_ref_and_calls_nothing(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {REQ: GOOD})
    mirror = bot.ctx.mirror.path("acme/platform")
    assert (mirror / "refs/pull/7/head").exists() or "refs/pull/7/head" in (mirror / "packed-refs").read_text()
    start = len(bot.fake.calls)
    assert bot.deliver("pull_request", gp.pull_request("closed", head_sha=sha)).status_code == 202
    bot.work()
    assert bot.fake.calls[start:] == []
    import git

    assert "refs/pull/7/head" not in git.Repo(mirror).git.for_each_ref()


def test_reopened_after_losing_state_finds_the_comment_by_its_marker(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {REQ: BAD})
    (comment,) = bot.fake.comments_on("acme/platform", 7)
    assert isinstance(bot.ctx.journal, SqliteJournal)
    with bot.ctx.journal._tx() as db:  # as if the database had been lost
        db.execute("delete from pledge_kv")
    start = len(bot.fake.calls)
    bot.deliver("pull_request", gp.pull_request("reopened", head_sha=sha))
    bot.work()
    assert ops_since(bot, start) == ["checks/create", "checks/update", "issues/list-comments",
                                     "issues/update-comment"]
    assert [c["id"] for c in bot.fake.comments_on("acme/platform", 7)] == [comment["id"]]


def test_comment_says_so_once_when_nothing_is_left_to_report(bot: Bot, remote: GitRemote) -> None:
    open_pr(bot, remote, {REQ: BAD})
    start = len(bot.fake.calls)
    open_pr(bot, remote, {REQ: None}, action="synchronize")  # the request is removed again
    assert ops_since(bot, start) == ["checks/create", "issues/update-comment"]
    (comment,) = bot.fake.comments_on("acme/platform", 7)
    assert "nothing to report" in comment["body"]
    start = len(bot.fake.calls)
    open_pr(bot, remote, {"README.md": "x\n"}, action="synchronize")
    assert ops_since(bot, start) == ["checks/create"]


def test_quiet_pr_that_later_adds_a_request_posts_without_searching(bot: Bot, remote: GitRemote) -> None:
    open_pr(bot, remote, {"README.md": "x\n"})
    start = len(bot.fake.calls)
    open_pr(bot, remote, {REQ: GOOD}, action="synchronize")
    assert ops_since(bot, start) == ["checks/create", "checks/update", "issues/create-comment"]


def test_a_commit_no_longer_in_the_pr_is_skipped(bot: Bot, remote: GitRemote) -> None:
    old = remote.push_pr(7, {REQ: BAD})
    remote.push_pr(7, {REQ: GOOD})  # force-pushed over: the old commit is gone from refs/pull/7/head
    bot.deliver("pull_request", gp.pull_request("synchronize", head_sha=old))
    bot.work()
    assert bot.fake.rest_calls() == []


def test_an_older_commit_still_in_the_pr_is_checked_as_such(bot: Bot, remote: GitRemote) -> None:
    first = remote.push_pr(7, {REQ: BAD})
    remote.push_pr(7, {"README.md": "more\n"}, from_base=False)
    bot.deliver("pull_request", gp.pull_request("opened", head_sha=first))
    bot.work()
    assert [r["conclusion"] for r in bot.fake.runs_for(first)] == ["failure"]


def test_a_crashing_check_reports_failure_instead_of_hanging(bot: Bot, remote: GitRemote) -> None:
    def broken(*args: object) -> Report:
        raise ValueError("core bug")

    bot.ctx.checker = broken
    sha = open_pr(bot, remote, {REQ: GOOD})
    (run,) = bot.fake.runs_for(sha)
    assert run["conclusion"] == "failure" and "internal error (ValueError)" in run["output"]["summary"]


def test_many_findings_become_batched_annotations(bot: Bot, remote: GitRemote) -> None:
    from bot.core.report import error

    def noisy(*args: object) -> Report:
        return Report(findings=[error(REQ, i, 1, "schema.x", f"problem {i}") for i in range(1, 131)], judged=[REQ])

    bot.ctx.checker = noisy
    sha = open_pr(bot, remote, {REQ: GOOD})
    (run,) = bot.fake.runs_for(sha)
    assert len(run["annotations"]) == 130
    assert [c.op_id for c in bot.fake.rest_calls()] == ["checks/create"] + ["checks/update"] * 3 + [
        "issues/create-comment"]


def test_annotations_are_capped_most_severe_first(bot: Bot, remote: GitRemote) -> None:
    # issue 11 item 10: 20,000 findings cost 401 REST calls (one PATCH per 50 annotations); cap them
    from bot.core.report import error, warning
    from bot.present.checkrun import MAX_ANNOTATIONS

    def flood(*args: object) -> Report:
        notes = [warning(REQ, i, 1, "schema.w", f"warn {i}") for i in range(1, 15_001)]
        return Report(findings=notes + [error(REQ, i, 2, "schema.e", f"err {i}") for i in range(1, 5_001)],
                      judged=[REQ])

    bot.ctx.checker = flood
    sha = open_pr(bot, remote, {REQ: GOOD})
    (run,) = bot.fake.runs_for(sha)
    assert len(run["annotations"]) == MAX_ANNOTATIONS == 500
    assert {a["annotation_level"] for a in run["annotations"]} == {"failure"}  # errors before warnings
    assert "19,500 more findings are not annotated" in run["output"]["summary"]
    assert [c.op_id for c in bot.fake.rest_calls()] == ["checks/create"] + ["checks/update"] * 10 + [
        "issues/create-comment"]


def test_installation_events_are_logged(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pledge")
    assert bot.deliver("installation", gp.installation_created()).status_code == 202
    bot.work()
    assert "installation.created" in caplog.text and "Codertocat" in caplog.text
    assert bot.fake.calls == []


def test_the_token_never_reaches_logs_or_errors(tmp_path: Path, bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "ghs_SECRETSECRETSECRET"
    mirror = Mirror(tmp_path / "m", "file:///nonexistent/x-access-token:{token}@host/{repo}.git")
    with pytest.raises(MirrorError) as info:
        mirror.pull_request("acme/platform", token, 7, "main", None)
    assert token not in str(info.value) and token not in caplog.text
    assert "<remote>" in str(info.value) or "***" in str(info.value)


def test_run_check_with_missing_installation_is_skipped(bot: Bot) -> None:
    payload = gp.pull_request("opened", head_sha="a" * 40)
    del payload["installation"]
    Dispatcher(bot.ctx)(Event("pull_request", "d", payload))
    assert bot.fake.calls == []


def test_action_required_links_the_pull_request(bot: Bot, remote: GitRemote) -> None:
    from datetime import UTC, datetime

    from bot.adapters.store.audit import AuditStore
    from bot.core.audit import Record

    AuditStore(bot.settings.data_dir).add(Record("acme/platform", 7, "hold", "bob", "f" * 40, datetime.now(UTC)))
    sha = open_pr(bot, remote, {REQ: GOOD})  # a standing hold makes the check action_required
    (run,) = bot.fake.runs_for(sha)
    assert run["conclusion"] == "action_required"
    assert run["details_url"] == "https://github.com/acme/platform/pull/7"
