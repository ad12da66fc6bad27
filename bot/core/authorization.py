"""Who may run a command, which comment deliveries the parser sees, and the one refusal a flow raises."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.commands import PERMISSIONS, Command


class Refused(Exception):
    """A command could not be carried out for a reason the user can act on; the message is the reply line
    (without the @user prefix)."""


def at_least(have: str, need: str) -> bool:
    """Whether a repository role (collaborator permission `role_name`, else `permission`) reaches `need`."""
    rank = {p: i for i, p in enumerate(PERMISSIONS)}
    return rank.get(have, 0) >= rank[need]


def effective_role(permission: str, role_name: str | None) -> str:
    """The role to rank from one GET /collaborators/{user}/permission: `role_name` tells maintain and triage
    apart (`permission` folds them into write and read); a custom role ranks by its base `permission`."""
    return role_name if role_name in PERMISSIONS else permission


def once(fn: Callable[[], str]) -> Callable[[], str]:
    """Memoize a no-argument lookup (a permission GET) so a handler makes it at most once."""
    box: list[str] = []

    def call() -> str:
        if not box:
            box.append(fn())
        return box[0]

    return call


def authorize(cmd: Command, *, user: str, author: str, permission: Callable[[], str],
              holders: Collection[str] = ()) -> str | None:
    """None if `user` may run `cmd`, else the one-line refusal. `permission` is called only when needed.
    `approve` is only pre-checked here (not the author); pledge.yaml's rules decide in approvals.evaluate."""
    who, me = cmd.spec.who, user.lower()
    if who in ("anyone", "self"):
        return None
    if who == "approver":
        if me == author.lower():
            return f"@{user}: you opened this pull request, so you cannot approve it; ask a reviewer"
        return None
    if who == "author-or-write":
        if me == author.lower() or at_least(permission(), "write"):
            return None
        return f"@{user}: only the pull request's author or people with write access can run `/pledge {cmd.verb}`"
    if me in {h.lower() for h in holders} or not holders or at_least(permission(), "maintain"):
        return None
    names = ", ".join(sorted(holders))
    return f"@{user}: only whoever placed the hold ({names}) or people with maintain or admin access can lift it"


def unhold_targets(holders: Collection[str], *, user: str, permission: Callable[[], str]) -> list[str]:
    """Whose holds `/pledge unhold` by `user` lifts: their own; everyone's with maintain or admin access."""
    own = [h for h in holders if h.lower() == user.lower()]
    others = [h for h in holders if h.lower() != user.lower()]
    return own + others if others and at_least(permission(), "maintain") else own


@dataclass(frozen=True)
class Triage:
    """run: parse and run; closed: run only `on_merged` commands of a merged PR, reply `why` once for the rest;
    ignore: do nothing (no reaction, no reply)."""

    verdict: Literal["run", "closed", "ignore"]
    why: str
    merged: bool = False


def triage(payload: Mapping[str, Any], *, app_slug: str) -> Triage:
    """Whether an issue_comment delivery is for the parser: created, by a human, on a PR; closed PRs get a reply."""
    comment, issue = _obj(payload.get("comment")), _obj(payload.get("issue"))
    user = _obj(comment.get("user"))
    login = str(user.get("login", ""))
    if payload.get("action") != "created":
        return Triage("ignore", "only new comments run commands; an edit must not replay an approval")
    if user.get("type") == "Bot" or login.endswith("[bot]") or login.lower() == app_slug.lower():
        return Triage("ignore", "comments by bots are ignored")
    pull = issue.get("pull_request")
    if not isinstance(pull, dict) or not pull:
        return Triage("ignore", "commands act on pull requests, not plain issues")
    if issue.get("state") != "open":
        merged = bool(pull.get("merged_at"))
        return Triage("closed", f"this pull request is {'merged' if merged else 'closed'}; only "
                      f"{'`/pledge promote` and `/pledge help` run' if merged else 'open pull requests run commands'}"
                      " here", merged)
    return Triage("run", "")


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
