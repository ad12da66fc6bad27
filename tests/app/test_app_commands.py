"""Slash commands end to end: real handler, fake GitHub (validated against the OpenAPI description), real git."""

from __future__ import annotations

import copy

from bot.app.events import Event
from bot.app.routes import match
from bot.core.commands import BUTTONS
from bot.core.gate import Snapshot
from bot.core.report import EnvPreview, FileChange, Finding, Report
from tests.app.apptest import Bot
from tests.app.commandtest import (
    AUTHOR,
    DEV,
    PROD,
    REPO,
    TEAM,
    button,
    cache,
    latest_run,
    open_pr,
    records,
    replies,
    say,
    sticky,
    with_rules,
)
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote

APPROVE_BUDGET = ["pulls/get", "teams/get-membership-for-user-in-org", "checks/update", "issues/update-comment",
                  "reactions/create-for-issue-comment"]


def prod_pr(bot: Bot, remote: GitRemote, size: int = 3) -> str:
    with_rules(remote)
    bot.fake.add_team_member(TEAM, "carol")
    return open_pr(bot, remote, {PROD: cache(size)})


def test_prod_request_needs_an_approval_and_says_who_can_give_it(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    run = latest_run(bot, sha)
    assert run["conclusion"] == "action_required"
    assert run["output"]["title"] == "1 approval needed: prod"
    assert "needs 1 more from members of acme/platform-team" in run["output"]["summary"]
    assert run["details_url"] == "https://github.com/acme/platform/pull/7"
    assert run["requests"][-1]["actions"] == list(BUTTONS)
    body = sticky(bot)
    assert "### ✋ Pledge: 1 approval needed: prod" in body
    assert "pledge.yaml `approvals.prod`" in body and "/pledge approve" in body


def test_approve_by_a_team_member_satisfies_the_rule_in_five_calls(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    c, ops = say(bot, "/pledge approve sized right", user="carol")
    assert ops == APPROVE_BUDGET
    run = latest_run(bot, sha)
    assert run["conclusion"] == "success" and run["requests"][-1]["actions"] == list(BUTTONS)
    assert "✅ **prod** (pledge.yaml `approvals.prod`): 1 of 1 by carol" in sticky(bot)
    assert bot.fake.reactions_on(c.id) == ["rocket"]
    (rec,) = records(bot)
    assert (rec.kind, rec.user, rec.sha, rec.reason, rec.source) == ("approve", "carol", sha, "sized right",
                                                                       f"comment:{c.id}:1")


def test_unapprove_brings_the_requirement_back(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    say(bot, "/pledge approve", user="carol")
    _, ops = say(bot, "/pledge unapprove", user="carol")
    assert ops == ["pulls/get", "checks/update", "issues/update-comment", "reactions/create-for-issue-comment"]
    assert latest_run(bot, sha)["conclusion"] == "action_required"
    assert [r.kind for r in records(bot)] == ["approve", "unapprove"]


def test_hold_blocks_until_unheld(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    say(bot, "/pledge approve", user="carol")
    _, ops = say(bot, "/pledge hold waiting for the freeze to end", user=AUTHOR)
    assert ops == ["pulls/get", "teams/get-membership-for-user-in-org", "checks/update", "issues/update-comment",
                   "reactions/create-for-issue-comment"]  # carol's approval is looked up again (one job, one memo)
    run = latest_run(bot, sha)
    assert (run["conclusion"], run["output"]["title"]) == ("action_required", "On hold by dave")
    assert "⛔ **on hold** by dave: waiting for the freeze to end" in sticky(bot)
    say(bot, "/pledge unhold", user=AUTHOR)
    assert latest_run(bot, sha)["conclusion"] == "success"
    assert [r.kind for r in records(bot)] == ["approve", "hold", "unhold"]


def test_someone_elses_hold_needs_maintain_to_lift(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    bot.fake.set_role(REPO, "bob", "write")
    bot.fake.set_role(REPO, "mia", "maintain")
    say(bot, "/pledge hold", user="bob")
    c, ops = say(bot, "/pledge unhold", user=AUTHOR)
    assert ops == ["repos/get-collaborator-permission-level", "issues/create-comment",
                   "reactions/create-for-issue-comment"]
    assert replies(bot)[-1].startswith("@dave: only whoever placed the hold (bob) or people with maintain")
    assert bot.fake.reactions_on(c.id) == ["confused"]
    say(bot, "/pledge unhold", user="mia")
    assert latest_run(bot, sha)["output"]["title"] == "1 approval needed: prod"
    assert [(r.kind, r.user, r.target) for r in records(bot)][-1] == ("unhold", "mia", "bob")


def test_approval_at_an_older_commit_survives_a_push_that_leaves_requests_alone(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    say(bot, "/pledge approve", user="carol")
    sha2 = open_pr(bot, remote, {"README.md": "docs\n"}, action="synchronize")
    assert latest_run(bot, sha2)["conclusion"] == "success"
    assert "invalidated" not in sticky(bot)


def test_push_that_changes_requests_invalidates_and_the_comment_says_so(bot: Bot, remote: GitRemote) -> None:
    sha1 = prod_pr(bot, remote)
    say(bot, "/pledge approve", user="carol")
    sha2 = open_pr(bot, remote, {PROD: cache(5)}, action="synchronize")
    assert latest_run(bot, sha2)["conclusion"] == "action_required"
    assert (f"carol's approval at `{sha1[:7]}` was invalidated by push `{sha2[:7]}` "
            "(requests, catalog or pledge.yaml changed)"
            in sticky(bot))
    say(bot, "/pledge approve", user="carol")
    assert latest_run(bot, sha2)["conclusion"] == "success" and "invalidated" not in sticky(bot)


def test_push_that_changes_the_catalog_invalidates_too(bot: Bot, remote: GitRemote) -> None:
    """An approval never covers a renderer, schema, policy or pledge.yaml change the approver did not see."""
    sha1 = prod_pr(bot, remote)
    say(bot, "/pledge approve", user="carol")
    sha2 = open_pr(bot, remote, {"renderers/cache/v1/extra.yaml.j2": "# new\n"}, action="synchronize")
    assert latest_run(bot, sha2)["conclusion"] == "action_required"
    assert f"carol's approval at `{sha1[:7]}` was invalidated by push `{sha2[:7]}`" in sticky(bot)


def test_approvable_policy_failure_becomes_a_requirement(bot: Bot, remote: GitRemote) -> None:
    with_rules(remote)
    sha = open_pr(bot, remote, {DEV: cache(40)})
    run = latest_run(bot, sha)
    assert run["conclusion"] == "action_required"
    assert "big-caches" in run["output"]["title"]
    assert any(a["title"] == "policy-approvable.cache-large/at-most-32" for a in run["annotations"])
    _, ops = say(bot, "/pledge approve", user="mallory")  # read access: refused
    assert replies(bot)[-1] == ("@mallory: only people with admin access can approve exceptions to cache-large "
                                "(pledge.yaml: approvals.big-caches)")
    assert ops == ["pulls/get", "repos/get-collaborator-permission-level", "issues/create-comment",
                   "reactions/create-for-issue-comment"]
    bot.fake.set_role(REPO, "alice", "admin")
    say(bot, "/pledge approve", user="alice")
    assert latest_run(bot, sha)["conclusion"] == "success"


def test_dev_request_needs_no_approval(bot: Bot, remote: GitRemote) -> None:
    with_rules(remote)
    sha = open_pr(bot, remote, {DEV: cache()})
    run = latest_run(bot, sha)
    assert run["conclusion"] == "success" and "Approvals" not in run["output"]["summary"]
    assert "Approvals" not in sticky(bot)


def test_help_lists_the_commands_and_this_repositorys_rules(bot: Bot, remote: GitRemote) -> None:
    prod_pr(bot, remote)
    c, ops = say(bot, "/pledge help", user="zed")
    assert ops == ["issues/create-comment", "reactions/create-for-issue-comment"]
    text = replies(bot)[-1]
    assert "`/pledge approve [reason]`" in text and "`prod`: 1 approval from members of acme/platform-team" in text
    assert bot.fake.reactions_on(c.id) == ["rocket"]


def test_check_reruns_with_eyes_then_rocket(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    c, ops = say(bot, "/pledge check", user=AUTHOR)
    assert ops == ["pulls/get", "reactions/create-for-issue-comment", "checks/create", "checks/update",
                   "issues/update-comment", "reactions/create-for-issue-comment"]
    assert len(bot.fake.runs_for(sha)) == 2
    assert bot.fake.reactions_on(c.id) == ["eyes", "rocket"]


def test_check_by_someone_without_write_access_is_refused(bot: Bot, remote: GitRemote) -> None:
    sha = prod_pr(bot, remote)
    c, ops = say(bot, "/pledge check", user="mallory")
    assert ops == ["repos/get-collaborator-permission-level", "issues/create-comment",
                   "reactions/create-for-issue-comment"]
    assert replies(bot) == ["@mallory: only the pull request's author or people with write access can run "
                            "`/pledge check`"]
    assert len(bot.fake.runs_for(sha)) == 1 and bot.fake.reactions_on(c.id) == ["confused"]


def test_command_rows_in_the_routing_table() -> None:
    on_pr = gp.issue_comment_on_pull(body="/pledge approve")
    plain = copy.deepcopy(on_pr)
    del plain["issue"]["pull_request"]
    edited = dict(copy.deepcopy(on_pr), action="edited", changes={"body": {"from": "x"}})
    deleted = dict(copy.deepcopy(on_pr), action="deleted")
    cases = {"pr": ("issue_comment", on_pr), "plain": ("issue_comment", plain),
             "edited": ("issue_comment", edited), "deleted": ("issue_comment", deleted),
             "button": ("check_run", button("rerun", "a" * 40, user="bob"))}
    handled = {k: getattr(match(Event(name, "d", p)), "handler", None) for k, (name, p) in cases.items()}
    assert handled == {"pr": "on_command_comment", "plain": None, "edited": None, "deleted": None,
                       "button": "on_check_button"}


def test_snapshot_round_trips_through_the_journal_text() -> None:
    report = Report(findings=[Finding(PROD, 7, 3, "error", "policy-approvable.cache-large/at-most-32", "big")],
                    preview=[EnvPreview("prod", (FileChange("environments/prod/x.yaml", "added", "diff " * 5000),))],
                    judged=[PROD], notes=["a note"])
    snap = Snapshot(sha="a" * 40, run_id=5, author="dave", base_ref="main", config="x: 1\n",
                    requests=[("prod", "cache", PROD)], deleted=[DEV], valid=["b" * 40], report=report)
    text = snap.dumps()
    assert text.startswith("z:") and len(text) < 2000
    assert Snapshot.loads(text) == snap
