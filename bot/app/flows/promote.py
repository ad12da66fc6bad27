"""`/pledge promote <env>`: copy the PR's requests to the next environment on a new branch and open a PR."""

from __future__ import annotations

import logging

import git

from bot.adapters.errors import GitHubError
from bot.adapters.git import remote
from bot.adapters.git.commit import commit_files
from bot.adapters.git.mirror import Mirror
from bot.adapters.git.remote import redact, remote_env
from bot.app.flows.job import Job
from bot.core.authorization import Refused
from bot.core.paths import is_request, promotion_paths
from bot.core.platform import ConfigError, load_config

log = logging.getLogger("pledge.promote")


def branch_name(number: int, target: str) -> str:
    return f"pledge/promote-{number}-{target}"


def run(job: Job, target: str) -> None:
    """Branch from the base in the mirror, commit the copies, push with git, open the PR, ask the author."""
    pull = job.pull
    token = job.inst.token()
    trees = job.ctx.mirror.pull_request(job.repo, token, job.number, pull.base_ref, pull.head_sha)
    if trees is None:
        raise Refused(f"the head commit {pull.head_sha[:12]} is gone from this pull request; try again")
    try:
        snap = job.snapshot()
        if snap is not None and snap.sha == trees.head_sha:  # the checked list; also right on a merged PR
            live = sorted({path for _env, _offering, path in snap.requests} - set(snap.deleted))
            deleted = list(snap.deleted)
        else:
            changes = [c for c in trees.changed if is_request(c.path)]
            live = sorted(c.path for c in changes if c.status != "D")
            deleted = sorted(c.path for c in changes if c.status == "D")
        try:
            envs = load_config(trees.base).env_names
        except ConfigError as exc:
            raise Refused(f"pledge.yaml on the base branch is broken ({exc.message})") from None
        mapping = promotion_paths(live, target=target, env_names=envs)
        if isinstance(mapping, str):
            raise Refused(mapping)
        copies = {dst: data for src, dst in mapping.items() if (data := trees.head.read(src)) is not None}
        if all(trees.base.read(dst) == data for dst, data in copies.items()):
            raise Refused(f"the base branch already has these requests in {target}; nothing to promote")
        commit = commit_files(trees.repo, trees.base_sha, copies,
                              f"Promote #{job.number} to {target}\n\nRequested-by: {job.user}\n")
        branch = branch_name(job.number, target)
        _push(job.ctx.mirror, trees.repo, job.repo, token, commit, branch)
    finally:
        trees.close()
    body = (f"Copies the requests of #{job.number} to `{target}`, byte for byte (the environment is in the path "
            f"only), as asked by @{job.user} with `/pledge promote {target}`.\n\n"
            + "\n".join(f"- `{dst}`" for dst in sorted(copies)) + "\n\nPledge checks this pull request like any "
            f"other, so the `{target}` approval rules apply.\n")
    try:
        new = job.inst.create_pull(job.repo, head=branch, base=pull.base_ref,
                              title=f"Promote #{job.number} to {target}", body=body)
    except GitHubError as exc:
        if exc.status == 422:  # e.g. a pull request for the branch is already open
            raise Refused(f"GitHub refused to open the pull request for `{branch}`: "
                          f"{_first_error(exc.data)}") from None
        raise
    reviewer = job.author if job.author and not job.author.endswith("[bot]") else ""
    asked = job.inst.request_review(job.repo, new.number, [reviewer]) if reviewer else False
    line = f"Opened #{new.number}: {len(copies)} request{'s' if len(copies) != 1 else ''} promoted to {target}"
    line += f", review requested from @{reviewer}" if asked else ""
    if deleted:
        line += f"; not promoted (deleted here): {', '.join(f'`{p}`' for p in deleted)}"
    job.replies.append(line + ".")


def _first_error(data: object) -> str:
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("message"):
            return str(errors[0]["message"])[:200]
        return str(data.get("message", "validation failed"))[:200]
    return "validation failed"


def _push(mirror: Mirror, bare: git.Repo, repo: str, token: str, commit: str, branch: str) -> None:
    """Push a new branch with the installation token (through GIT_CONFIG_*, as for fetches). An existing
    branch is never overwritten: someone may have pushed to it."""
    url = mirror.url(repo, token)
    env = remote_env(url)
    exists = Refused(f"the branch `{branch}` already exists; merge or delete it, then promote again")
    try:
        listed = remote.output(bare, "ls-remote", "--heads", "origin", f"refs/heads/{branch}", env=env)
    except remote.GitError as exc:
        log.warning("%s: listing %s failed: %s", repo, branch, redact(str(exc), token, url))
        raise Refused(f"pushing `{branch}` failed; see Pledge's log") from None
    if listed.strip():
        raise exists
    outcome, detail = remote.push(bare, "origin", commit, f"refs/heads/{branch}", env)
    if outcome == "ok":
        return
    log.warning("%s: push of %s failed: %s", repo, branch, redact(detail, token, url))
    if outcome == "race" or "already exists" in detail:
        raise exists
    raise Refused(f"pushing `{branch}` failed ({outcome}); see Pledge's log")
