"""Helpers for the slash-command tests: a platform with approval rules, comment and button deliveries."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from bot.adapters.store.audit import AuditStore
from bot.core.audit import Record
from tests.app.apptest import Bot
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote

REPO, PR, AUTHOR = "acme/platform", 7, "dave"
TEAM = "acme/platform-team"
DEV = "requests/dev/payments/orders.yaml"
PROD = "requests/prod/payments/orders.yaml"
CACHE = "apiVersion: pledge.dev/v1\nkind: Cache\nmetadata:\n  name: orders\n  team: payments\nspec:\n  size: {size}\n"
PLEDGE_YAML = """apiVersion: pledge.dev/v1
kind: Platform
repository:
  url: https://github.com/acme/platform
  branch: main
environments:
  - name: dev
  - name: prod
    interval: 5m
teams:
  - name: payments
    group: acme:payments
  - name: search
catalog:
  bundled: false
approvals:
  - name: prod
    environments: [prod]
    count: 1
    from: {teams: [acme/platform-team]}
  - name: big-caches
    when: approvable-policy
    policies: [cache-large]
    count: 1
    from: {permission: admin}
"""
# an approvable policy: a cache above 32 needs someone with admin access
CACHE_LARGE = """apiVersion: json.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: cache-large
  annotations:
    pledge.dev/approvable: "true"
spec:
  rules:
    - name: at-most-32
      assert:
        all:
          - message: caches above 32 need an approval
            check:
              spec:
                (size <= `32`): true
"""


def cache(size: int = 3) -> str:
    return CACHE.format(size=size)


def with_rules(remote: GitRemote) -> str:
    """Put the approval rules and the approvable policy on the base branch."""
    return remote.commit_base({"pledge.yaml": PLEDGE_YAML, "policies/cache/cache-large.yaml": CACHE_LARGE})


def pull_request(action: str, sha: str, *, author: str = AUTHOR, number: int = PR) -> dict[str, Any]:
    p = gp.pull_request(action, number=number, head_sha=sha)
    p["pull_request"]["user"] = dict(p["pull_request"]["user"], login=author)
    return gp.validate(p, f"pull_request${action}")


@dataclass
class Comment:
    id: int
    payload: dict[str, Any]


def comment(bot: Bot, body: str, *, user: str, author: str = AUTHOR, number: int = PR, state: str = "open",
            merged: bool = False, action: str = "created", plain_issue: bool = False,
            user_type: str = "User") -> Comment:
    """A comment that exists in the fake GitHub and its delivery (created by default)."""
    cid = bot.fake.add_comment(REPO, number, body, login=user, kind=user_type)
    p = gp.issue_comment_on_pull(number=number, body=body, sender=user, sender_type=user_type)
    p["comment"]["id"] = cid
    p["issue"]["user"] = dict(p["issue"]["user"], login=author)
    p["issue"]["state"] = state
    if plain_issue:
        del p["issue"]["pull_request"]
    elif merged:
        p["issue"]["pull_request"]["merged_at"] = "2026-01-02T00:00:00Z"
    if action != "created":
        p["action"] = action
        if action == "edited":
            p["changes"] = {"body": {"from": "earlier text"}}
    return Comment(cid, gp.validate(p, f"issue_comment${action}"))


def button(identifier: str, sha: str, *, user: str, number: int = PR) -> dict[str, Any]:
    """A click on one of the pledge check run's buttons (check_run.requested_action)."""
    p = gp.example("check_run.requested_action")
    p["repository"] = gp.example("pull_request.opened")["repository"]
    gp._set_repo(p, REPO, 1)
    run = p["check_run"]
    run.update(head_sha=sha, name="pledge", external_id=f"pledge:pr={number}")
    ref = copy.deepcopy(run["pull_requests"][0])
    ref.update(number=number, url=f"https://api.github.com/repos/{REPO}/pulls/{number}")
    ref["head"] = dict(ref["head"], sha=sha)
    ref["base"] = dict(ref["base"], ref="main")
    run["pull_requests"] = [ref]
    p["requested_action"] = {"identifier": identifier}
    p["sender"] = dict(p["sender"], login=user, type="User")
    p.pop("organization", None)
    return gp.validate(p, "check_run$requested_action")


def open_pr(bot: Bot, remote: GitRemote, files: dict[str, str | None], *, action: str = "opened",
            author: str = AUTHOR, number: int = PR) -> str:
    """Push the PR, tell the fake about it and deliver the pull_request event; returns the head SHA."""
    sha = remote.push_pr(number, files, from_base=action == "opened")
    bot.fake.add_pull(REPO, number, base_ref="main", head_sha=sha, author=author)
    resp = bot.deliver("pull_request", pull_request(action, sha, author=author, number=number))
    assert resp.status_code == 202, resp.get_json()
    bot.work()
    return sha


def say(bot: Bot, body: str, *, user: str, **kw: Any) -> tuple[Comment, list[str]]:
    """Post a comment, run the worker; returns it and the REST operations the bot made for it."""
    c = comment(bot, body, user=user, **kw)
    start = len(bot.fake.calls)
    resp = bot.deliver("issue_comment", c.payload)
    if resp.status_code == 202:
        bot.work()
    return c, [x.op_id for x in bot.fake.calls[start:] if not x.is_token]


def click(bot: Bot, identifier: str, sha: str, *, user: str) -> list[str]:
    start = len(bot.fake.calls)
    assert bot.deliver("check_run", button(identifier, sha, user=user)).status_code == 202
    bot.work()
    return [x.op_id for x in bot.fake.calls[start:] if not x.is_token]


def latest_run(bot: Bot, sha: str) -> dict[str, Any]:
    return max(bot.fake.runs_for(sha), key=lambda r: r["id"])


def sticky(bot: Bot, number: int = PR) -> str:
    (body,) = [c["body"] for c in bot.fake.comments_on(REPO, number) if c["body"].startswith("<!-- pledge:summary")]
    return str(body)


def replies(bot: Bot, number: int = PR) -> list[str]:
    """The bot's comments other than the sticky one, oldest first."""
    return [c["body"] for c in sorted(bot.fake.comments_on(REPO, number), key=lambda c: c["id"])
            if c["type"] == "Bot" and not c["body"].startswith("<!-- pledge:summary")]


def records(bot: Bot, number: int = PR) -> list[Record]:
    return AuditStore(bot.settings.data_dir).records(REPO, number)
