"""Which deliveries start publishing: light predicates the router (and so the web process) evaluates."""

from __future__ import annotations

from typing import Any

from bot.app.events import Event
from bot.core.paths import is_input

FLUX_EVENT = "flux"  # name of the queued Flux deliveries (bot/app/flux_intake.py); GitHub sends no such event
PUSH_COMMITS_LISTED = 20  # GitHub lists at most this many commits in a push delivery
ZERO_SHA = "0" * 40


def merged(event: Event) -> bool:
    """pull_request closed with merged = true."""
    pr = event.payload.get("pull_request")
    return isinstance(pr, dict) and pr.get("merged") is True


def pushed_paths(payload: dict[str, Any] | Any) -> list[str] | None:
    """Files the push's listed commits touched, or None when GitHub did not list them all."""
    commits = payload.get("commits")
    if not isinstance(commits, list) or len(commits) >= PUSH_COMMITS_LISTED:
        return None
    paths: list[str] = []
    for commit in commits:
        for key in ("added", "removed", "modified"):
            paths += [p for p in (commit.get(key) or []) if isinstance(p, str)] if isinstance(commit, dict) else []
    return paths


def pushed_to_base(event: Event) -> bool:
    """A push to the default branch, by someone other than a bot (Pledge's own render commits come from the
    App), that changed a request, the catalog or pledge.yaml (or may have: commits not all listed)."""
    p = event.payload
    repo = p.get("repository")
    default = repo.get("default_branch") if isinstance(repo, dict) else None
    if not isinstance(default, str) or p.get("ref") != f"refs/heads/{default}":
        return False
    if p.get("deleted") is True or p.get("after") == ZERO_SHA or event.sender_is_bot:
        return False
    paths = pushed_paths(p)
    return paths is None or any(is_input(path) for path in paths)
