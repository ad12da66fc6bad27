"""The explicit, ordered routing table: which deliveries Pledge handles, and with what."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.app.events import Event
from bot.app.triggers import FLUX_EVENT, merged, pushed_to_base

log = logging.getLogger("pledge.router")

# Names of deliveries Pledge queues itself (POST /flux); a /webhook delivery may never carry them.
INTERNAL_EVENTS = frozenset({FLUX_EVENT})

# Events people write in; a bot's (our own comments included) would make the App answer itself.
COMMENT_EVENTS = frozenset({"issue_comment", "pull_request_review_comment", "pull_request_review"})


def base_changed(event: Event) -> bool:
    changes = event.payload.get("changes")
    return isinstance(changes, dict) and "base" in changes


def on_pull_request(event: Event) -> bool:
    """A comment on a pull request (a plain issue's comments are not Pledge's business: not even queued)."""
    return event.pr_number is not None


@dataclass(frozen=True)
class Route:
    """A row: event name, action (None: any action, or events without one), the name of the function in
    bot.app.flows.check that handles it (named, so the web process never imports the core), extra condition."""

    event: str
    action: str | None
    handler: str
    when: Callable[[Event], bool] | None = None


# First matching row wins: publish_merge sits ABOVE the generic "closed" row; pushes to the default branch and
# Flux events (queued by POST /flux, never sent by GitHub) have their own rows; comment events from bots are
# dropped before any row (ignore_reason).
ROUTES: tuple[Route, ...] = (
    Route("pull_request", "opened", "check_pull_request"),
    Route("pull_request", "synchronize", "check_pull_request"),
    Route("pull_request", "reopened", "check_pull_request"),
    Route("pull_request", "edited", "check_pull_request", when=base_changed),
    Route("pull_request", "closed", "publish_merge", when=merged),
    Route("pull_request", "closed", "pull_request_closed"),
    Route("check_run", "rerequested", "rerun_check_run"),
    Route("check_suite", "rerequested", "rerun_check_suite"),
    # slash commands (issue 5): new comments on pull requests only; edited and deleted comments have no row
    # on purpose (an edit must not replay or forge an approval; docs/commands.md)
    Route("issue_comment", "created", "on_command_comment", when=on_pull_request),
    Route("check_run", "requested_action", "on_check_button"),
    Route("push", None, "publish_push", when=pushed_to_base),
    Route(FLUX_EVENT, None, "flux_event"),
    Route("installation", None, "log_installation"),
    Route("installation_repositories", None, "log_installation"),
)


def ignore_reason(event: Event) -> str | None:
    """Why a delivery is dropped before any routing, or None."""
    if event.name in COMMENT_EVENTS and event.sender_is_bot:
        return f"sent by the bot {event.sender_login}"
    return None


def match(event: Event, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    """The first row for the delivery, or None when Pledge does not handle it."""
    if ignore_reason(event) is not None:
        return None
    for route in routes:
        if route.event != event.name:
            continue
        if route.action is not None and route.action != event.action:
            continue
        if route.when is not None and not route.when(event):
            continue
        return route
    return None
