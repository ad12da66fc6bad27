"""`/pledge promote <env>`: copy the PR's requests to the next environment on a new branch and open a PR."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import TYPE_CHECKING

import git

from bot.adapters.git.mirror import Mirror
from bot.adapters.github import commands_rest as api
from bot.adapters.github.client import GithubException
from bot.core.commands import promotion_paths
from bot.core.paths import is_request
from bot.core.platform import ConfigError, load_config

if TYPE_CHECKING:
    from bot.app.flows.command import Job

log = logging.getLogger("pledge.promote")


class Refused(Exception):
    """Nothing was promoted; the message is the reply line (without the @user prefix)."""


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
        commit = _commit(trees.repo, trees.base_sha, copies,
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
        new = api.create_pull(job.inst, job.repo, head=branch, base=pull.base_ref,
                              title=f"Promote #{job.number} to {target}", body=body)
    except GithubException as exc:
        if exc.status == 422:  # e.g. a pull request for the branch is already open
            raise Refused(f"GitHub refused to open the pull request for `{branch}`: "
                          f"{_first_error(exc.data)}") from None
        raise
    reviewer = job.author if job.author and not job.author.endswith("[bot]") else ""
    asked = api.request_review(job.inst, job.repo, new.number, [reviewer]) if reviewer else False
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


def _commit(bare: git.Repo, base_sha: str, files: dict[str, bytes], message: str) -> str:
    """A commit on top of `base_sha` with `files` written, built with plumbing in a throwaway index (no checkout,
    nothing touched in the mirror but new objects)."""
    with tempfile.TemporaryDirectory(prefix="pledge-promote-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index"), "GIT_AUTHOR_NAME": "Pledge",
               "GIT_AUTHOR_EMAIL": "pledge@users.noreply.github.com", "GIT_COMMITTER_NAME": "Pledge",
               "GIT_COMMITTER_EMAIL": "pledge@users.noreply.github.com"}
        g = bare.git
        g.read_tree(base_sha, env=env)
        for n, (path, data) in enumerate(sorted(files.items())):
            source = os.path.join(tmp, f"blob{n}")
            with open(source, "wb") as handle:
                handle.write(data)
            blob = g.hash_object("-w", "--no-filters", source)
            g.update_index("--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = g.write_tree(env=env)
        return str(g.commit_tree(tree, "-p", base_sha, "-m", message, env=env))


def _push(mirror: Mirror, bare: git.Repo, repo: str, token: str, commit: str, branch: str) -> None:
    """Push a new branch with the installation token; the URL reaches git only through GIT_CONFIG_* (as for
    fetches). An existing branch is never overwritten: someone may have pushed to it."""
    url = mirror.url_template.format(repo=repo, token=token)
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "remote.origin.url",
           "GIT_CONFIG_VALUE_0": url}
    exists = Refused(f"the branch `{branch}` already exists; merge or delete it, then promote again")
    try:
        listed = bare.git.ls_remote("--heads", "origin", f"refs/heads/{branch}", env=env,
                                    kill_after_timeout=mirror.timeout)
        if str(listed).strip():
            raise exists
        bare.git.push("--quiet", "origin", f"{commit}:refs/heads/{branch}", env=env,
                      kill_after_timeout=mirror.timeout)
    except git.GitCommandError as exc:
        message = str(exc.stderr or "").replace(url, "<remote>")
        message = message.replace(token, "***") if token else message
        log.warning("%s: push of %s failed: %s", repo, branch, message.strip())
        if "rejected" in message or "already exists" in message or "fetch first" in message:
            raise exists from None
        raise Refused(f"pushing `{branch}` failed (git exit {exc.status}); see Pledge's log") from None
