"""The explicit, ordered routing table: which deliveries Pledge handles, and with what."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.app.events import Event

if TYPE_CHECKING:
    from bot.app.handlers import Context

log = logging.getLogger("pledge.router")

# Events people write in; a bot's (our own comments included) would make the App answer itself.
COMMENT_EVENTS = frozenset({"issue_comment", "pull_request_review_comment", "pull_request_review"})


def base_changed(event: Event) -> bool:
    changes = event.payload.get("changes")
    return isinstance(changes, dict) and "base" in changes


@dataclass(frozen=True)
class Route:
    """A row: event name, action (None: any action, or events without one), the name of the function in
    bot.app.handlers that handles it (named, so the web process never imports the core), extra condition."""

    event: str
    action: str | None
    handler: str
    when: Callable[[Event], bool] | None = None


# First matching row wins. Later issues add rows here:
# - merge publishing: Route("pull_request", "closed", "publish_merge", when=merged) ABOVE the generic
#   "closed" row;
# - slash commands: Route("issue_comment", "created", "slash_command", when=on_pull_request), and
#   Route("check_run", "requested_action", ...) for check-run buttons (comment events from bots are
#   already dropped, see ignore_reason).
ROUTES: tuple[Route, ...] = (
    Route("pull_request", "opened", "check_pull_request"),
    Route("pull_request", "synchronize", "check_pull_request"),
    Route("pull_request", "reopened", "check_pull_request"),
    Route("pull_request", "edited", "check_pull_request", when=base_changed),
    Route("pull_request", "closed", "pull_request_closed"),
    Route("check_run", "rerequested", "rerun_check_run"),
    Route("check_suite", "rerequested", "rerun_check_suite"),
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


class Dispatcher:
    """The queue's processor in the worker: route a delivery and run its handler."""

    def __init__(self, ctx: Context, routes: tuple[Route, ...] = ROUTES) -> None:
        from bot.app import handlers

        self.ctx = ctx
        self.routes = routes
        self.handlers: dict[str, Callable[[Context, Event], None]] = {
            r.handler: getattr(handlers, r.handler) for r in routes
        }

    def __call__(self, event: Event) -> None:
        route = match(event, self.routes)
        if route is None:
            log.info("%s: not handled", event.describe())
            return
        self.handlers[route.handler](self.ctx, event)
