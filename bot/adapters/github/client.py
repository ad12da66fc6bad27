"""GitHub REST through PyGithub (its only importer): App auth, retries, and the few calls Pledge makes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from github import Auth, Github, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    GithubException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Repository import Repository
from urllib3.util.retry import Retry

from bot.app.queue import RetryLater
from bot.app.settings import Settings
from bot.present.checkrun import CheckOutput

log = logging.getLogger("pledge.github")

MAX_ANNOTATIONS_PER_REQUEST = 50
T = TypeVar("T")


@dataclass(frozen=True)
class PullInfo:
    """What a handler needs of a pull request when the event does not carry it."""

    number: int
    state: str
    base_ref: str
    head_sha: str
    merged: bool
    author: str = ""  # the PR's opener (user.login)


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

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubApp:
        return cls(
            settings.app_id,
            settings.private_key,
            settings.github_api_url,
            throttle=settings.github_throttle != "off",
        )

    def installation(self, installation_id: int) -> Installation:
        with self._lock:
            inst = self._installations.get(installation_id)
            if inst is None:
                inst = self._installations[installation_id] = Installation(self, installation_id)
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


class Installation:
    """The calls Pledge makes for one installation; each returns plain data."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self.app = app
        self.installation_id = installation_id
        self._lock = threading.Lock()
        self._auth, self._gh = app.client(installation_id)

    def _renew(self) -> None:
        with self._lock:
            self._auth, self._gh = self.app.client(self.installation_id)

    def _call(self, what: str, fn: Callable[[Github], T]) -> T:
        """Run one API step; on 401 renew the token once (it expired or was revoked mid-job)."""
        try:
            try:
                return fn(self._gh)
            except BadCredentialsException:
                log.warning("installation %s: token rejected during %s; renewing it", self.installation_id, what)
                self._renew()
                return fn(self._gh)
        except RateLimitExceededExceedsMaxWait as exc:
            raise RetryLater(exc.wait or 60.0, f"rate limited during {what}") from exc
        except RateLimitExceededException as exc:
            raise RetryLater(60.0, f"rate limited during {what}") from exc

    def _repo(self, gh: Github, full_name: str) -> Repository:
        return gh.get_repo(full_name)  # lazy: no request

    def token(self) -> str:
        """An installation token for git (cached; a new one only shortly before expiry)."""
        return self._call("token", lambda _gh: self._auth.token)

    def create_check_run(
        self,
        repo: str,
        *,
        name: str,
        head_sha: str,
        external_id: str,
        output: CheckOutput | None = None,
        conclusion: str | None = None,
        details_url: str | None = None,
    ) -> int:
        """One POST: a run in progress, or already completed when `conclusion` is given (no annotations)."""
        params: dict[str, Any] = {"name": name, "head_sha": head_sha, "external_id": external_id}
        if conclusion is None:
            params["status"] = "in_progress"
        else:
            params["conclusion"] = conclusion
        if output is not None:
            params["output"] = _output(output, list(output.annotations[:MAX_ANNOTATIONS_PER_REQUEST]))
        if details_url:
            params["details_url"] = details_url
        run = self._call("create check run", lambda gh: self._repo(gh, repo).create_check_run(**params))
        return int(run.id)

    def complete_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        conclusion: str,
        output: CheckOutput,
        details_url: str | None = None,
        actions: Sequence[dict[str, str]] = (),
    ) -> int:
        """Complete a run; annotations go 50 per PATCH (GitHub appends them), the conclusion (and the buttons,
        `actions`) with the last. Returns the number of requests made."""
        batches: list[Sequence[dict[str, Any]]] = [
            output.annotations[i : i + MAX_ANNOTATIONS_PER_REQUEST]
            for i in range(0, len(output.annotations), MAX_ANNOTATIONS_PER_REQUEST)
        ] or [()]
        for n, batch in enumerate(batches):
            final = n == len(batches) - 1
            params: dict[str, Any] = {"output": _output(output, list(batch), with_text=final)}
            if final:
                params["conclusion"] = conclusion
                if details_url:
                    params["details_url"] = details_url
                if actions:
                    params["actions"] = list(actions)

            def patch(gh: Github, p: dict[str, Any] = params) -> None:
                self._repo(gh, repo).get_check_run(check_run_id).edit(**p)

            self._call("update check run", patch)
        return len(batches)

    def upsert_comment(
        self, repo: str, number: int, body: str, *, marker: str, known_id: int | None, may_exist: bool
    ) -> int:
        """Edit Pledge's comment in place, else create it; returns its id. With a known id this is one PATCH;
        without one and when a comment may exist (db lost, PR reopened), its marker is looked for first."""
        if known_id is not None:
            try:
                self._call(
                    "edit comment", lambda gh: self._repo(gh, repo).get_issue(number).get_comment(known_id).edit(body)
                )
                return known_id
            except UnknownObjectException:
                log.info("%s#%s: comment %s is gone; posting a new one", repo, number, known_id)
        if may_exist:
            found = self._call("find comment", lambda gh: _find_marked(self._repo(gh, repo), number, marker))
            if found is not None:
                self._call(
                    "edit comment", lambda gh: self._repo(gh, repo).get_issue(number).get_comment(found).edit(body)
                )
                return found
        comment = self._call("create comment", lambda gh: self._repo(gh, repo).get_issue(number).create_comment(body))
        return int(comment.id)

    def get_pull(self, repo: str, number: int) -> PullInfo:
        def fetch(gh: Github) -> PullInfo:
            pr = self._repo(gh, repo).get_pull(number)
            return PullInfo(number, pr.state, pr.base.ref, pr.head.sha, bool(pr.merged),
                            pr.user.login if pr.user is not None else "")

        return self._call("get pull request", fetch)

    def pulls_for_commit(self, repo: str, sha: str) -> list[int]:
        """Open pull requests whose head is `sha` (check suites of forks list none themselves)."""

        def fetch(gh: Github) -> list[int]:
            pulls = self._repo(gh, repo).get_commit(sha).get_pulls()
            return [p.number for p in pulls if p.state == "open" and p.head.sha == sha]

        return self._call("list pull requests of a commit", fetch)


def _output(output: CheckOutput, annotations: list[dict[str, Any]], with_text: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"title": output.title, "summary": output.summary}
    if with_text and output.text:
        out["text"] = output.text
    if annotations:
        out["annotations"] = annotations
    return out


def _find_marked(repo: Repository, number: int, marker: str) -> int | None:
    for comment in repo.get_issue(number).get_comments():
        if marker in (comment.body or "") and comment.user is not None and comment.user.type == "Bot":
            return int(comment.id)
    return None


__all__ = ["CheckOutput", "GitHubApp", "GithubException", "Installation", "PullInfo", "make_retry"]
