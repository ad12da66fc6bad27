"""Errors the adapters raise instead of their libraries' own: the layers above never see PyGithub or GitPython."""

from __future__ import annotations

from typing import Any


class RetryLater(Exception):
    """The work cannot go on now (a rate limit, a lost race): try the delivery again after `delay` seconds.
    Not counted as a failure by the queue."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.0f}s")
        self.delay = delay


class GitHubError(Exception):
    """GitHub answered a request with an error status; `data` is its JSON body (or None)."""

    def __init__(self, status: int, data: Any = None, what: str = "") -> None:
        super().__init__(f"GitHub answered {status} to {what or 'a request'}: {data}")
        self.status = status
        self.data = data
