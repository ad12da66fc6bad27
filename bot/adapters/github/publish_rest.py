"""The REST calls publishing makes: the merged PR's comment, the reviews fallback, the render pull request."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.adapters.github.client import GithubException, Installation
from bot.present.checkrun import MAX_COMMENT_CHARS, cut

log = logging.getLogger("pledge.github")


@dataclass(frozen=True)
class Review:
    """One pull request review as GitHub lists it."""

    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    commit_id: str
    submitted_at: str


def _repo_path(repo: str) -> str:
    owner, name = repo.split("/", 1)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _request(inst: Installation, what: str, verb: str, url: str, body: Any = None,
             params: dict[str, Any] | None = None) -> Any:
    """One request through the installation's client (token renewal, retries and rate limits included)."""
    return inst._call(what, lambda gh: gh.requester.requestJsonAndCheck(verb, url, parameters=params,
                                                                        input=body)[1])


def comment(inst: Installation, repo: str, number: int, body: str) -> int:
    """A new comment on the pull request; cut below GitHub's 65,536 characters."""
    data = _request(inst, "comment", "POST", f"{_repo_path(repo)}/issues/{number}/comments",
                    {"body": cut(body, MAX_COMMENT_CHARS - 100, "comment")})
    return int(data["id"])


def edit_comment(inst: Installation, repo: str, comment_id: int, body: str) -> None:
    _request(inst, "edit comment", "PATCH", f"{_repo_path(repo)}/issues/comments/{comment_id}",
             {"body": cut(body, MAX_COMMENT_CHARS - 100, "comment")})


def find_comment(inst: Installation, repo: str, number: int, marker: str) -> int | None:
    """The id of the Bot's comment carrying `marker` (only after a crash left us unsure whether we posted)."""
    page = 1
    while True:
        items = _request(inst, "list comments", "GET", f"{_repo_path(repo)}/issues/{number}/comments",
                         params={"per_page": 100, "page": page})
        for c in items or []:
            if marker in str(c.get("body") or "") and (c.get("user") or {}).get("type") == "Bot":
                return int(c["id"])
        if not items or len(items) < 100:
            return None
        page += 1


def reviews(inst: Installation, repo: str, number: int) -> list[Review]:
    """The PR's reviews, oldest first (one GET for up to 100 reviews)."""
    out: list[Review] = []
    page = 1
    while True:
        items = _request(inst, "list reviews", "GET", f"{_repo_path(repo)}/pulls/{number}/reviews",
                         params={"per_page": 100, "page": page})
        out += [Review(str((r.get("user") or {}).get("login") or ""), str(r.get("state") or ""),
                       str(r.get("commit_id") or ""), str(r.get("submitted_at") or "")) for r in items or []]
        if not items or len(items) < 100:
            return out
        page += 1


def open_render_pull(inst: Installation, repo: str, *, head: str, base: str, title: str, body: str,
                     label: str) -> int | None:
    """Open the render pull request and label it (2 calls); None when one is already open from `head`."""
    try:
        data = _request(inst, "create pull request", "POST", f"{_repo_path(repo)}/pulls",
                        {"head": head, "base": base, "title": title[:256],
                         "body": cut(body, MAX_COMMENT_CHARS - 100, "body")})
    except GithubException as exc:
        if exc.status == 422 and "already exists" in str(exc.data):
            log.info("%s: a pull request from %s is already open", repo, head)
            return None
        raise
    number = int(data["number"])
    _request(inst, "label pull request", "POST", f"{_repo_path(repo)}/issues/{number}/labels", {"labels": [label]})
    return number
