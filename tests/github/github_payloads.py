"""Webhook deliveries for tests: GitHub's real examples (payloads/, from @octokit/webhooks-examples, MIT),
patched for the case at hand and validated against @octokit/webhooks-schemas every time one is built."""

from __future__ import annotations

import copy
import functools
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "webhook-schemas-subset.json"
PAYLOADS = HERE / "payloads"


@functools.cache
def _schemas() -> dict[str, Any]:
    return json.loads(SCHEMAS.read_text())


@functools.cache
def _validator(definition: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{definition}"} | _schemas())


def validate(payload: dict[str, Any], definition: str) -> dict[str, Any]:
    """The payload, if webhook-schemas accepts it as `definition` (e.g. pull_request$opened)."""
    errors = sorted(_validator(definition).iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in errors[:5]]
        raise AssertionError(f"patched payload is not a valid {definition}:\n" + "\n".join(lines))
    return payload


def example(name: str) -> dict[str, Any]:
    """An unpatched real example, e.g. example("pull_request.opened")."""
    return copy.deepcopy(_load(name))


@functools.cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def _set_repo(payload: dict[str, Any], repo: str, installation_id: int) -> None:
    owner, name = repo.split("/")
    r = payload["repository"]
    r.update(full_name=repo, name=name, html_url=f"https://github.com/{repo}", url=f"https://api.github.com/repos/{repo}")
    r["owner"] = dict(r["owner"], login=owner)
    payload["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}


def pull_request(action: str, *, repo: str = "acme/platform", number: int = 7, head_sha: str, base_ref: str = "main",
                 base_sha: str = "0" * 40, installation_id: int = 1, merged: bool = False,
                 old_base: str = "develop") -> dict[str, Any]:
    """pull_request.<action>; `edited` (no real example exists) is built from `opened` with changes.base."""
    source = "opened" if action == "edited" else action
    p = example(f"pull_request.{source}")
    p["action"] = action
    _set_repo(p, repo, installation_id)
    p["number"] = number
    pr = p["pull_request"]
    pr.update(number=number, url=f"https://api.github.com/repos/{repo}/pulls/{number}",
              html_url=f"https://github.com/{repo}/pull/{number}")
    pr["head"] = dict(pr["head"], sha=head_sha, ref=f"feature-{number}")
    pr["head"]["repo"] = dict(pr["head"]["repo"], full_name=repo)
    pr["base"] = dict(pr["base"], sha=base_sha, ref=base_ref)
    pr["base"]["repo"] = dict(pr["base"]["repo"], full_name=repo)
    if action == "closed":
        pr.update(state="closed", merged=merged, merged_at="2026-01-01T00:00:00Z" if merged else None,
                  merge_commit_sha=head_sha if merged else None)
    if action == "edited":
        p["changes"] = {"base": {"ref": {"from": old_base}, "sha": {"from": "1" * 40}}}
    if action == "synchronize":
        p.update(before="2" * 40, after=head_sha)
    return validate(p, f"pull_request${action}")


def check_run_rerequested(*, repo: str = "acme/platform", number: int | None = 7, head_sha: str,
                          base_ref: str = "main", external_id: str | None = None, fork: bool = False,
                          installation_id: int = 1) -> dict[str, Any]:
    """A re-run click; `fork=True` leaves pull_requests empty, as GitHub does for forks."""
    p = example("check_run.rerequested")
    _set_repo(p, repo, installation_id)
    run = p["check_run"]
    run.update(head_sha=head_sha, name="pledge",
               external_id=external_id if external_id is not None else f"pledge:pr={number}")
    run["check_suite"] = dict(run["check_suite"], head_sha=head_sha)
    run["pull_requests"] = [] if fork or number is None else [_pr_ref(repo, number, head_sha, base_ref)]
    return validate(p, "check_run$rerequested")


def check_suite_rerequested(*, repo: str = "acme/platform", numbers: tuple[int, ...] = (7,), head_sha: str,
                            base_ref: str = "main", installation_id: int = 1) -> dict[str, Any]:
    p = example("check_suite.rerequested")
    _set_repo(p, repo, installation_id)
    suite = p["check_suite"]
    suite.update(head_sha=head_sha)
    suite["pull_requests"] = [_pr_ref(repo, n, head_sha, base_ref) for n in numbers]
    p["sender"] = dict(p["sender"], login="octocat", type="User")
    return validate(p, "check_suite$rerequested")


def _pr_ref(repo: str, number: int, head_sha: str, base_ref: str) -> dict[str, Any]:
    ref = copy.deepcopy(example("check_suite.rerequested")["check_suite"]["pull_requests"][0])
    ref.update(number=number, url=f"https://api.github.com/repos/{repo}/pulls/{number}")
    ref["head"] = dict(ref["head"], sha=head_sha)
    ref["base"] = dict(ref["base"], ref=base_ref)
    return ref


def issue_comment_on_pull(*, repo: str = "acme/platform", number: int = 7, body: str = "/pledge check",
                          sender: str = "octocat", sender_type: str = "User",
                          installation_id: int = 1) -> dict[str, Any]:
    """A comment on a pull request (no real example exists: patched with issue.pull_request)."""
    p = example("issue_comment.created")
    _set_repo(p, repo, installation_id)
    p["issue"] = dict(p["issue"], number=number, pull_request={
        "url": f"https://api.github.com/repos/{repo}/pulls/{number}",
        "html_url": f"https://github.com/{repo}/pull/{number}",
        "diff_url": f"https://github.com/{repo}/pull/{number}.diff",
        "patch_url": f"https://github.com/{repo}/pull/{number}.patch",
    })
    p["comment"] = dict(p["comment"], body=body)
    p["comment"]["user"] = dict(p["comment"]["user"], login=sender, type=sender_type)
    p["sender"] = dict(p["sender"], login=sender, type=sender_type)
    return validate(p, "issue_comment$created")


def installation_created() -> dict[str, Any]:
    return validate(example("installation.created"), "installation$created")


def ping() -> dict[str, Any]:
    return validate(example("ping"), "ping$event")


def delivery_id() -> str:
    return str(uuid.uuid4())


def merged_pull_request(*, repo: str = "acme/platform", number: int = 7, head_sha: str, merge_sha: str,
                        base_sha: str = "0" * 40, base_ref: str = "main", head_ref: str | None = None,
                        title: str = "Add a request", author: str = "alice",
                        installation_id: int = 1) -> dict[str, Any]:
    """pull_request.closed with merged = true (no real example exists: patched from `closed`)."""
    p = pull_request("closed", repo=repo, number=number, head_sha=head_sha, base_ref=base_ref, base_sha=base_sha,
                     installation_id=installation_id, merged=True)
    pr = p["pull_request"]
    pr.update(merge_commit_sha=merge_sha, title=title)
    pr["user"] = dict(pr["user"], login=author, type="User")
    if head_ref is not None:
        pr["head"]["ref"] = head_ref
    return validate(p, "pull_request$closed")


def push(*, repo: str = "acme/platform", branch: str = "main", before: str, after: str,
         files: dict[str, str] | None = None, pusher: str = "admin", sender_type: str = "User",
         pushed_at: float | None = None, installation_id: int = 1) -> dict[str, Any]:
    """A push of one commit to `branch` (the repository's default branch); `files` maps path -> added,
    modified or removed, listed in the commit as GitHub does."""
    import time

    p = example("push")
    _set_repo(p, repo, installation_id)
    p["repository"].update(default_branch=branch, master_branch=branch, pushed_at=int(pushed_at or time.time()))
    p.update(ref=f"refs/heads/{branch}", before=before, after=after, created=False, deleted=False, forced=False,
             compare=f"https://github.com/{repo}/compare/{before[:12]}...{after[:12]}")
    commit = copy.deepcopy(p["commits"][0])
    commit.update(id=after, message="direct push", url=f"https://github.com/{repo}/commit/{after}",
                  added=[], removed=[], modified=[])
    for path, how in (files or {}).items():
        commit[how].append(path)
    p["commits"], p["head_commit"] = [commit], commit
    p["pusher"] = dict(p["pusher"], name=pusher)
    p["sender"] = dict(p["sender"], login=pusher, type=sender_type)
    return validate(p, "push$event")
