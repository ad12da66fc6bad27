"""Bad input for slash commands, through the real intake, handler and fake GitHub: nothing here may approve."""

from __future__ import annotations

import time

from tests.app.apptest import Bot
from tests.app.commandtest import (
    AUTHOR,
    PROD,
    REPO,
    TEAM,
    cache,
    comment,
    latest_run,
    open_pr,
    pull_request,
    records,
    replies,
    say,
    with_rules,
)
from tests.github.fake_git_remote import GitRemote


def prod_pr(bot: Bot, remote: GitRemote) -> str:
    with_rules(remote)
    bot.fake.add_team_member(TEAM, "carol")
    return open_pr(bot, remote, {PROD: cache(3)})


def approvals(bot: Bot) -> list[str]:
    return [r.user for r in records(bot) if r.kind == "approve"]


def test_edited_and_deleted_comments_are_not_even_queued(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    start = len(bot.fake.calls)
    for action in ("edited", "deleted"):
        c = comment(bot, "/pledge approve", user="carol", action=action)
        resp = bot.deliver("issue_comment", c.payload)
        assert (resp.status_code, resp.get_json()["status"]) == (200, "ignored")
    assert bot.work() == 0
    assert bot.fake.calls[start:] == [] and approvals(bot) == []


def test_comments_by_bots_are_ignored(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    for login in ("pledge-app[bot]", "renovate[bot]"):
        c, ops = say(bot, "/pledge approve", user=login, user_type="Bot")
        assert ops == [] and bot.fake.reactions_on(c.id) == []
    assert approvals(bot) == []


def test_plain_issue_comments_cost_nothing(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    c = comment(bot, "/pledge approve", user="carol", plain_issue=True)
    start = len(bot.fake.calls)
    resp = bot.deliver("issue_comment", c.payload)
    assert (resp.status_code, resp.get_json()["status"]) == (200, "ignored")
    assert bot.work() == 0 and bot.fake.calls[start:] == []


def test_closed_pull_request_gets_one_reply_and_nothing_runs(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    c, ops = say(bot, "/pledge approve\n/pledge hold", user="carol", state="closed")
    assert ops == ["issues/create-comment", "reactions/create-for-issue-comment"]
    assert replies(bot) == ["@carol: this pull request is closed; only open pull requests run commands here"]
    assert bot.fake.reactions_on(c.id) == ["confused"] and records(bot) == []


def test_merged_pull_request_refuses_approve(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    c, _ = say(bot, "/pledge approve", user="carol", state="closed", merged=True)
    assert replies(bot) == ["@carol: this pull request is merged; only `/pledge promote` and `/pledge help` run "
                            "here"]
    assert bot.fake.reactions_on(c.id) == ["confused"] and approvals(bot) == []


def test_a_quoted_approve_does_not_approve(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    for body in ("> /pledge approve", "> earlier you said\n/pledge approve is what I will not do",
                 "```\n/pledge approve\n```", "`/pledge approve`", "<!--\n/pledge approve\n-->",
                 "please /pledge approve"):
        c, ops = say(bot, body, user="carol")
        assert ops == [], body
        assert bot.fake.reactions_on(c.id) == []
    assert approvals(bot) == [] and latest_run(bot, sha)["conclusion"] == "action_required"


def test_lookalike_slash_gets_one_hint_and_does_not_approve(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    c, ops = say(bot, "\u2215pledge approve", user="carol")
    assert ops == ["issues/create-comment", "reactions/create-for-issue-comment"]
    assert "does not start with an ASCII `/`" in replies(bot)[0]
    assert bot.fake.reactions_on(c.id) == ["confused"] and approvals(bot) == []
    c, ops = say(bot, "\uff0fpledge approve\n/pledge help", user="carol")  # next to a real command: silent
    assert ops == ["issues/create-comment", "reactions/create-for-issue-comment"]
    assert replies(bot)[-1].startswith("**Pledge commands**") and bot.fake.reactions_on(c.id) == ["rocket"]


def test_the_author_cannot_approve_their_own_request(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    _, ops = say(bot, "/pledge approve", user=AUTHOR)
    assert ops == ["issues/create-comment", "reactions/create-for-issue-comment"]
    assert replies(bot) == ["@dave: you opened this pull request, so you cannot approve it; ask a reviewer"]
    assert [(r.kind, r.user) for r in records(bot)] == [("refuse", "dave")]
    assert latest_run(bot, sha)["conclusion"] == "action_required"
    _, ops = say(bot, "/pledge approve", user="DAVE")  # logins compare case-insensitively
    assert replies(bot)[-1].startswith("@DAVE: you opened this pull request") and approvals(bot) == []


def test_a_reader_cannot_approve_prod(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    c, ops = say(bot, "/pledge approve", user="mallory")
    assert ops == ["pulls/get", "teams/get-membership-for-user-in-org", "issues/create-comment",
                   "reactions/create-for-issue-comment"]
    assert replies(bot) == ["@mallory: only members of acme/platform-team can approve prod requests "
                            "(pledge.yaml: approvals.prod)"]
    assert [(r.kind, r.user) for r in records(bot)] == [("refuse", "mallory")]
    assert latest_run(bot, sha)["conclusion"] == "action_required"
    assert bot.fake.reactions_on(c.id) == ["confused"]


def test_pending_team_invitation_is_not_membership(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    bot.fake.add_team_member(TEAM, "pat", state="pending")
    say(bot, "/pledge approve", user="pat")
    assert replies(bot)[-1].startswith("@pat: only members of acme/platform-team")
    assert approvals(bot) == []


def test_sixty_thousand_characters_are_read_once_and_bounded(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    prose = ("This change looks fine to me, thanks for the careful sizing.\n" * 1000)[:59_980]
    started = time.perf_counter()
    _, ops = say(bot, prose + "\n/pledge approve\n", user="carol")
    assert time.perf_counter() - started < 5
    assert ops[-1] == "reactions/create-for-issue-comment" and approvals(bot) == ["carol"]
    beyond = "x" * 65_536 + "\n/pledge hold\n"  # past GitHub's limit: never read
    _, ops = say(bot, beyond, user="carol")
    assert ops == [] and [r.kind for r in records(bot)] == ["approve"]


def test_fifty_commands_run_ten_and_reply_once(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    bot.fake.set_role(REPO, "bob", "write")
    _, ops = say(bot, "\n".join(f"/pledge hold reason {i}" for i in range(50)), user="bob")
    assert ops == ["repos/get-collaborator-permission-level", "pulls/get", "checks/update", "issues/update-comment",
                   "issues/create-comment", "reactions/create-for-issue-comment"]
    assert replies(bot) == ["Ran the first 10 commands of this comment; the other 40 were ignored (at most 10 per "
                            "comment)."]
    assert [r.reason for r in records(bot)] == [f"reason {i}" for i in range(10)]
    assert latest_run(bot, sha)["output"]["title"] == "On hold by bob"


def test_a_replayed_comment_does_not_approve_twice(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    c = comment(bot, "/pledge approve", user="carol")
    assert bot.deliver("issue_comment", c.payload, delivery="d-1").status_code == 202
    assert bot.deliver("issue_comment", c.payload, delivery="d-1").get_json()["status"] == "duplicate"
    assert bot.deliver("issue_comment", c.payload, delivery="d-2").status_code == 202  # a new id, same comment
    bot.work()
    assert approvals(bot) == ["carol"]


def test_approval_racing_a_push_binds_to_the_checked_commit(bot: Bot, remote: GitRemote) -> None:
    sha1 = prod_pr(bot, remote)
    sha2 = remote.push_pr(7, {PROD: cache(9)}, from_base=False)  # pushed; its synchronize is not handled yet
    bot.fake.add_pull(REPO, 7, base_ref="main", head_sha=sha2, author=AUTHOR)
    c, ops = say(bot, "/pledge approve", user="carol")
    assert ops == ["pulls/get", "teams/get-membership-for-user-in-org", "reactions/create-for-issue-comment"]
    (rec,) = records(bot)
    assert (rec.kind, rec.sha) == ("approve", sha1)  # what carol saw, not the new head
    runs = bot.fake.runs_for(sha1)
    assert latest_run(bot, sha1)["conclusion"] == "action_required" and len(runs) == 1  # untouched
    bot.deliver("pull_request", pull_request("synchronize", sha2))
    bot.work()
    assert latest_run(bot, sha2)["conclusion"] == "action_required"  # the push changed the request
    assert bot.fake.reactions_on(c.id) == ["rocket"]
