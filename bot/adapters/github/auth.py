"""The App's identity: its JWT, one cached installation client each, retries and rate-limit waits."""

from __future__ import annotations

import threading
from typing import Any

from github import Auth, Github, GithubRetry
from urllib3.util.retry import Retry

from bot.adapters.github.client import Installation


def make_retry(
    total: int = 4, backoff: float = 0.5, secondary_rate_wait: float = 60.0, max_rate_limit_wait: float = 900.0
) -> Retry:
    """GithubRetry for 5xx and rate limits (Retry-After, primary reset, secondary wait); PATCH included
    (updating a check run or a comment twice is harmless). Longer waits become a queue retry."""
    return GithubRetry(
        total=total,
        backoff_factor=backoff,
        secondary_rate_wait=secondary_rate_wait,
        max_rate_limit_wait=max_rate_limit_wait,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
        raise_on_status=False,
    )


class GitHubApp:
    """The App's identity; hands out one cached client per installation for the life of the process."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        base_url: str = "https://api.github.com",
        *,
        throttle: bool = True,
        retry: Retry | None = None,
        timeout: int = 20,
    ) -> None:
        self._auth = Auth.AppAuth(int(app_id) if app_id.isdigit() else app_id, private_key)
        self.base_url = base_url.rstrip("/")
        self.throttle = throttle
        self.retry = retry if retry is not None else make_retry()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._installations: dict[int, Installation] = {}

    def installation(self, installation_id: int) -> Installation:
        with self._lock:
            inst = self._installations.get(installation_id)
            if inst is None:
                inst = self._installations[installation_id] = Installation(self.client, installation_id)
            return inst

    def client(self, installation_id: int) -> tuple[Auth.AppInstallationAuth, Github]:
        """A fresh PyGithub client; its token is fetched on first use and renewed 20 s before expiry."""
        auth = self._auth.get_installation_auth(installation_id)
        throttle: dict[str, Any] = {} if self.throttle else {
            "seconds_between_requests": None,
            "seconds_between_writes": None,
        }
        gh = Github(
            auth=auth,
            base_url=self.base_url,
            retry=self.retry,
            timeout=self.timeout,
            per_page=100,
            lazy=True,
            **throttle,
        )
        return auth, gh
