"""App-level GitHub calls (the JWT), the manifest code exchange and read-only installation calls, for the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github
from github.GithubException import GithubException

from bot.adapters.errors import GitHubError

T = TypeVar("T")
UNREACHABLE = 0  # GitHubError.status when no HTTP answer came back at all


def _client(base_url: str, auth: Auth.Auth | None, timeout: int) -> Github:
    # No retries and no spacing: these are a person's one-off checks, a 401 or 404 is the answer itself.
    return Github(auth=auth, base_url=base_url.rstrip("/"), timeout=timeout, retry=None, lazy=True,
                  seconds_between_requests=None, seconds_between_writes=None)


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except GithubException as exc:
        raise GitHubError(exc.status, exc.data, what) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise GitHubError(UNREACHABLE, str(exc), what) from exc


def _get(gh: Github, what: str, path: str, params: dict[str, Any] | None = None) -> Any:
    return _call(what, lambda: gh.requester.requestJsonAndCheck("GET", path, parameters=params)[1])


def convert_manifest_code(code: str, base_url: str = "https://api.github.com", *, timeout: int = 20) -> dict[str, Any]:
    """POST /app-manifests/{code}/conversions: the new App's id, slug, pem and webhook_secret (one use, 1 h)."""
    gh = _client(base_url, None, timeout)
    path = f"/app-manifests/{quote(code, safe='')}/conversions"
    data = _call("manifest conversion", lambda: gh.requester.requestJsonAndCheck("POST", path)[1])
    return dict(data)


def repo_path(repo: str) -> str:
    owner, name = repo.split("/", 1)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


class AppAPI:
    """Read-only calls as the App (JWT) and as one of its installations (an installation token)."""

    def __init__(self, app_id: str, private_key: str, base_url: str = "https://api.github.com", *,
                 timeout: int = 20) -> None:
        self._auth = Auth.AppAuth(int(app_id) if app_id.isdigit() else app_id, private_key)
        self.base_url = base_url
        self.timeout = timeout
        self._app = _client(base_url, self._auth, timeout)

    def app_get(self, what: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET with the App's JWT (/app, /app/hook/..., /app/installations, /repos/{o}/{r}/installation)."""
        return _get(self._app, what, path, params)

    def installation_get(self, installation_id: int, what: str, path: str,
                         params: dict[str, Any] | None = None) -> Any:
        """GET with a token of the installation (fetched on first use)."""
        gh = _client(self.base_url, self._auth.get_installation_auth(installation_id), self.timeout)
        return _get(gh, what, path, params)
