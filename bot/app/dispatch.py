"""The worker's side of the route table: each route's flow by name, and the processor the queue runs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.app.context import Context
from bot.app.events import Event
from bot.app.flows import check, command, feedback, publish
from bot.app.routes import ROUTES, Route, match

log = logging.getLogger("pledge.dispatch")

Flow = Callable[[Context, Event], None]

FLOWS: dict[str, Flow] = {
    "check_pull_request": check.check_pull_request,
    "rerun_check_run": check.rerun_check_run,
    "rerun_check_suite": check.rerun_check_suite,
    "pull_request_closed": check.pull_request_closed,
    "log_installation": check.log_installation,
    "on_command_comment": command.on_command_comment,
    "on_check_button": command.on_check_button,
    "publish_merge": publish.publish_merge,
    "publish_push": publish.publish_push,
    "flux_event": feedback.flux_event,
}


class Dispatcher:
    """The queue's processor in the worker: route a delivery and run its flow."""

    def __init__(self, ctx: Context, routes: tuple[Route, ...] = ROUTES) -> None:
        self.ctx = ctx
        self.routes = routes
        self.flows = {r.handler: FLOWS[r.handler] for r in routes}  # a row without a flow fails at start

    def __call__(self, event: Event) -> None:
        route = match(event, self.routes)
        if route is None:
            log.info("%s: not handled", event.describe())
            return
        self.flows[route.handler](self.ctx, event)
