"""The GitHub App manifest Pledge needs: exactly the permissions its calls use and the events its router handles."""

from __future__ import annotations

from typing import Any

from bot.app.routes import INTERNAL_EVENTS, ROUTES

# Why each one is needed: docs/deploy.md (step 1) and the calls in docs/app.md#github-calls.
PERMISSIONS: dict[str, str] = {
    "checks": "write",  # the `pledge` check run, its annotations and buttons
    "contents": "write",  # git fetch of base and PR heads; render commits; /pledge promote branches
    "pull_requests": "write",  # the sticky comment, GET pulls and reviews, render and promotion PRs
    "issues": "write",  # replies and reactions to slash commands, the pledge-render label
    "metadata": "read",  # mandatory; collaborator permission (who may approve), branch rules
    "members": "read",  # organization: team approval rules (team memberships)
}
# Installation events arrive without a subscription (GitHub refuses them in default_events).
UNSUBSCRIBABLE = frozenset({"installation", "installation_repositories"})
ACCESS_RANK = {"read": 1, "write": 2, "admin": 3}


def events() -> list[str]:
    """The events the router has a row for, in the table's order, without Pledge's own and installation ones."""
    out: list[str] = []
    for route in ROUTES:
        if route.event not in INTERNAL_EVENTS and route.event not in UNSUBSCRIBABLE and route.event not in out:
            out.append(route.event)
    return out


def manifest(url: str, *, name: str = "pledge", homepage: str | None = None,
             redirect_url: str | None = None) -> dict[str, Any]:
    """The manifest in GitHub's format; `url` is where Pledge is reachable (its webhook is <url>/webhook)."""
    base = url.rstrip("/")
    out: dict[str, Any] = {
        "name": name,
        "url": homepage or base,
        "hook_attributes": {"url": f"{base}/webhook", "active": True},
    }
    if redirect_url:
        out["redirect_url"] = redirect_url
    out |= {"public": False, "default_permissions": dict(PERMISSIONS), "default_events": events()}
    return out


def new_app_url(github_url: str, org: str | None) -> str:
    """Where the manifest form is posted: the user's or the organisation's "new GitHub App" page."""
    base = github_url.rstrip("/")
    return f"{base}/organizations/{org}/settings/apps/new" if org else f"{base}/settings/apps/new"


def missing_permissions(granted: dict[str, str]) -> dict[str, str]:
    """Needed permissions the App lacks or has with less access: name -> needed access."""
    return {name: need for name, need in PERMISSIONS.items()
            if ACCESS_RANK.get(granted.get(name, ""), 0) < ACCESS_RANK[need]}


def missing_events(subscribed: list[str]) -> list[str]:
    return [e for e in events() if e not in subscribed]
