"""Every GitHub REST call Pledge makes, through PyGithub; its exceptions become Pledge's errors here only."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from github import Auth, Github
from github.GithubException import (
    BadCredentialsException,
    GithubException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Repository import Repository

from bot.adapters.errors import GitHubError, RetryLater
from bot.core.authorization import effective_role
from bot.present.checkrun import MAX_COMMENT_CHARS, CheckOutput
from bot.present.markdown import cut

log = logging.getLogger("pledge.github")

MAX_ANNOTATIONS_PER_REQUEST = 50
T = TypeVar("T")
ClientFactory = Callable[[int], tuple[Auth.AppInstallationAuth, Github]]  # installation id -> auth, client


@dataclass(frozen=True)
class PullInfo:
    """What a handler needs of a pull request when the event does not carry it."""

    number: int
    state: str
    base_ref: str
    head_sha: str
    merged: bool
    author: str = ""  # the PR's opener (user.login)


@dataclass(frozen=True)
class NewPull:
    number: int
    url: str


@dataclass(frozen=True)
class Review:
    """One pull request review as GitHub lists it."""

    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    commit_id: str
    submitted_at: str


def _q(text: str) -> str:
    return quote(text, safe="")


def _repo_path(repo: str) -> str:
    owner, name = repo.split("/", 1)
    return f"/repos/{_q(owner)}/{_q(name)}"


class Installation:
    """The calls Pledge makes for one installation; each returns plain data."""

    def __init__(self, make_client: ClientFactory, installation_id: int) -> None:
        self.make_client = make_client
        self.installation_id = installation_id
        self._lock = threading.Lock()
        self._auth, self._gh = make_client(installation_id)

    def _renew(self) -> None:
        with self._lock:
            self._auth, self._gh = self.make_client(self.installation_id)

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
        except UnknownObjectException as exc:
            raise GitHubError(404, exc.data, what) from exc
        except GithubException as exc:
            raise GitHubError(exc.status, exc.data, what) from exc

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
            except GitHubError as exc:
                if exc.status != 404:
                    raise
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

    def _request(self, what: str, verb: str, url: str, body: Any = None,
                 params: dict[str, Any] | None = None) -> Any:
        """One request for an endpoint PyGithub has no helper for (`gh.requester` is its documented way),
        with the same token renewal, retries and rate limits."""
        return self._call(what, lambda gh: gh.requester.requestJsonAndCheck(verb, url, parameters=params,
                                                                            input=body)[1])

    def comment(self, repo: str, number: int, body: str) -> int:
        """A new comment on the pull request (never the sticky one); cut below GitHub's 65,536 characters."""
        data = self._request("comment", "POST", f"{_repo_path(repo)}/issues/{number}/comments",
                             {"body": cut(body, MAX_COMMENT_CHARS - 100, "comment")})
        return int(data["id"])

    def find_comment(self, repo: str, number: int, marker: str) -> int | None:
        """The id of the Bot's comment carrying `marker` (after a crash left us unsure whether we posted)."""
        page = 1
        while True:
            items = self._request("list comments", "GET", f"{_repo_path(repo)}/issues/{number}/comments",
                                  params={"per_page": 100, "page": page})
            for c in items or []:
                if marker in str(c.get("body") or "") and (c.get("user") or {}).get("type") == "Bot":
                    return int(c["id"])
            if not items or len(items) < 100:
                return None
            page += 1

    def react(self, repo: str, comment_id: int, content: str) -> None:
        """Add a reaction to a comment; GitHub answers 200 when it is already there, so a retry is harmless."""
        self._request("react", "POST", f"{_repo_path(repo)}/issues/comments/{comment_id}/reactions",
                      {"content": content})

    def role(self, repo: str, user: str) -> str:
        """The user's repository role from one GET of the collaborator-permission API (role_name tells
        maintain and triage apart); "none" when GitHub does not know them. Never author_association."""
        try:
            data = self._request("collaborator permission", "GET",
                                 f"{_repo_path(repo)}/collaborators/{_q(user)}/permission")
        except GitHubError as exc:
            if exc.status == 404:
                return "none"
            raise
        return effective_role(str(data.get("permission") or "none"), data.get("role_name"))

    def is_member(self, org: str, team: str, user: str) -> bool:
        """Whether `user` is an active member of org/team (child teams count); 404 means no (or that the App
        lacks Organization members: read, which the docs ask for)."""
        try:
            data = self._request("team membership", "GET",
                                 f"/orgs/{_q(org)}/teams/{_q(team)}/memberships/{_q(user)}")
        except GitHubError as exc:
            if exc.status in (403, 404):
                if exc.status == 403:
                    log.warning("team membership of %s in %s/%s: 403; grant the App 'Members: read'", user, org,
                                team)
                return False
            raise
        return data.get("state") == "active"

    def update_run(self, repo: str, run_id: int, *, conclusion: str, output: CheckOutput,
                   actions: Sequence[dict[str, str]] = (), details_url: str | None = None) -> None:
        """One PATCH of a completed run: conclusion, title, summary, text and buttons (annotations stay)."""
        body: dict[str, Any] = {"conclusion": conclusion, "output": _output(output, [])}
        if actions:
            body["actions"] = list(actions)
        if details_url:
            body["details_url"] = details_url
        self._request("update check run", "PATCH", f"{_repo_path(repo)}/check-runs/{run_id}", body)

    def create_pull(self, repo: str, *, head: str, base: str, title: str, body: str) -> NewPull:
        data = self._request("create pull request", "POST", f"{_repo_path(repo)}/pulls",
                             {"head": head, "base": base, "title": title[:256],
                              "body": cut(body, MAX_COMMENT_CHARS - 100, "body")})
        return NewPull(int(data["number"]), str(data.get("html_url") or ""))

    def request_review(self, repo: str, number: int, reviewers: Sequence[str]) -> bool:
        """Ask for reviews; False (logged) when GitHub refuses, e.g. the user is not a collaborator."""
        try:
            self._request("request reviewers", "POST", f"{_repo_path(repo)}/pulls/{number}/requested_reviewers",
                          {"reviewers": list(reviewers)})
        except GitHubError as exc:
            if exc.status == 422:
                log.info("%s#%s: review request for %s refused: %s", repo, number, reviewers, exc.data)
                return False
            raise
        return True

    def reviews(self, repo: str, number: int) -> list[Review]:
        """The PR's reviews, oldest first (one GET for up to 100 reviews)."""
        out: list[Review] = []
        page = 1
        while True:
            items = self._request("list reviews", "GET", f"{_repo_path(repo)}/pulls/{number}/reviews",
                                  params={"per_page": 100, "page": page})
            out += [Review(str((r.get("user") or {}).get("login") or ""), str(r.get("state") or ""),
                           str(r.get("commit_id") or ""), str(r.get("submitted_at") or "")) for r in items or []]
            if not items or len(items) < 100:
                return out
            page += 1

    def open_render_pull(self, repo: str, *, head: str, base: str, title: str, body: str,
                         label: str) -> int | None:
        """Open the render pull request and label it (2 calls); None when one is already open from `head`."""
        try:
            number = self.create_pull(repo, head=head, base=base, title=title, body=body).number
        except GitHubError as exc:
            if exc.status == 422 and "already exists" in str(exc.data):
                log.info("%s: a pull request from %s is already open", repo, head)
                return None
            raise
        self._request("label pull request", "POST", f"{_repo_path(repo)}/issues/{number}/labels",
                      {"labels": [label]})
        return number


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
