"""The REST calls slash commands make (reactions, replies, roles, team membership, promotion PRs, run updates)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.adapters.github.client import GithubException, Installation
from bot.core.commands import effective_role
from bot.present.checkrun import MAX_COMMENT_CHARS, CheckOutput, cut

log = logging.getLogger("pledge.github")


@dataclass(frozen=True)
class NewPull:
    number: int
    url: str


def _q(text: str) -> str:
    return quote(text, safe="")


def _repo_path(repo: str) -> str:
    owner, name = repo.split("/", 1)
    return f"/repos/{_q(owner)}/{_q(name)}"


def _request(inst: Installation, what: str, verb: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One request through the installation's client (token renewal, retries and rate limits included);
    `gh.requester` is PyGithub's documented way to reach an endpoint it has no helper for."""
    return inst._call(what, lambda gh: gh.requester.requestJsonAndCheck(verb, url, input=body)[1])


def react(inst: Installation, repo: str, comment_id: int, content: str) -> None:
    """Add a reaction to a comment; GitHub answers 200 when it is already there, so a retry is harmless."""
    _request(inst, "react", "POST", f"{_repo_path(repo)}/issues/comments/{comment_id}/reactions",
             {"content": content})


def reply(inst: Installation, repo: str, number: int, body: str) -> int:
    """A new comment on the pull request (never the sticky one); cut below GitHub's 65,536 characters."""
    data = _request(inst, "reply", "POST", f"{_repo_path(repo)}/issues/{number}/comments",
                    {"body": cut(body, MAX_COMMENT_CHARS - 100, "reply")})
    return int(data["id"])


def role(inst: Installation, repo: str, user: str) -> str:
    """The user's repository role from one GET of the collaborator-permission API (role_name tells maintain
    and triage apart); "none" when GitHub does not know them as a collaborator. Never author_association."""
    try:
        data = _request(inst, "collaborator permission", "GET",
                        f"{_repo_path(repo)}/collaborators/{_q(user)}/permission")
    except GithubException as exc:
        if exc.status == 404:
            return "none"
        raise
    return effective_role(str(data.get("permission") or "none"), data.get("role_name"))


def is_member(inst: Installation, org: str, team: str, user: str) -> bool:
    """Whether `user` is an active member of org/team (child teams count): GET of the team-membership API;
    404 means no (or that the App lacks Organization members: read, which the docs ask for)."""
    try:
        data = _request(inst, "team membership", "GET",
                        f"/orgs/{_q(org)}/teams/{_q(team)}/memberships/{_q(user)}")
    except GithubException as exc:
        if exc.status in (403, 404):
            if exc.status == 403:
                log.warning("team membership of %s in %s/%s: 403; grant the App 'Members: read'", user, org, team)
            return False
        raise
    return data.get("state") == "active"


def update_run(inst: Installation, repo: str, run_id: int, *, conclusion: str, output: CheckOutput,
               actions: Sequence[dict[str, str]] = (), details_url: str | None = None) -> None:
    """One PATCH of a completed run: conclusion, title, summary, text and buttons (annotations stay)."""
    body: dict[str, Any] = {"conclusion": conclusion, "output": {"title": output.title, "summary": output.summary}}
    if output.text:
        body["output"]["text"] = output.text
    if actions:
        body["actions"] = list(actions)
    if details_url:
        body["details_url"] = details_url
    _request(inst, "update check run", "PATCH", f"{_repo_path(repo)}/check-runs/{run_id}", body)


def create_pull(inst: Installation, repo: str, *, head: str, base: str, title: str, body: str) -> NewPull:
    data = _request(inst, "create pull request", "POST", f"{_repo_path(repo)}/pulls",
                    {"head": head, "base": base, "title": title, "body": body})
    return NewPull(int(data["number"]), str(data.get("html_url") or ""))


def request_review(inst: Installation, repo: str, number: int, reviewers: Sequence[str]) -> bool:
    """Ask for reviews; False (logged) when GitHub refuses, e.g. the user is not a collaborator."""
    try:
        _request(inst, "request reviewers", "POST", f"{_repo_path(repo)}/pulls/{number}/requested_reviewers",
                 {"reviewers": list(reviewers)})
    except GithubException as exc:
        if exc.status == 422:
            log.info("%s#%s: review request for %s refused: %s", repo, number, reviewers, exc.data)
            return False
        raise
    return True
