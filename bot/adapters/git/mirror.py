"""Cached bare mirrors under PLEDGE_DATA_DIR: fetch a PR's base and head with git, never the contents API."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import git

from bot.adapters.git.lock import file_lock
from bot.adapters.git.remote import GitError, redact, remote_env, valid_branch
from bot.adapters.git.tree import GitTree, changed_files, has_commit
from bot.core.tree import Change

log = logging.getLogger("pledge.mirror")

_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class MirrorError(GitError):
    """git could not fetch or read the mirror; the message never contains the token."""


@dataclass
class PullTrees:
    """A pull request read from the mirror: base tip, head commit and what the PR changes."""

    repo: git.Repo
    base_sha: str
    head_sha: str
    base: GitTree
    head: GitTree
    changed: list[Change] = field(default_factory=list)

    def close(self) -> None:
        self.repo.close()


class Mirror:
    """One bare repository per GitHub repository, reused between jobs; fetches are serialized per
    repository with a file lock (threads and processes), reads are not."""

    def __init__(self, root: Path, url_template: str, timeout: float = 600.0) -> None:
        self.root = Path(root) / "mirrors"
        self.url_template = url_template
        self.timeout = timeout

    def path(self, repo: str) -> Path:
        if not _REPO_NAME.match(repo) or ".." in repo:
            raise MirrorError(f"not a repository name: {repo!r}")
        owner, name = repo.split("/")
        return self.root / owner / f"{name}.git"

    @contextmanager
    def _locked(self, repo: str) -> Iterator[Path]:
        path = self.path(repo)
        with file_lock(path.parent / f"{path.name}.lock"):
            yield path

    def git_env(self, repo: str, token: str) -> dict[str, str]:
        """Environment that makes `origin` the repository's URL with the token (GIT_CONFIG_VALUE_0)."""
        return remote_env(self.url(repo, token))

    def url(self, repo: str, token: str) -> str:
        return self.url_template.format(repo=repo, token=token)

    def fetch(self, repo: str, token: str, refspecs: list[str]) -> git.Repo:
        """Fetch `refspecs` into the mirror (created on first use). The URL with the token reaches git
        through GIT_CONFIG_* variables, so it is in no argv, no config file and no log line."""
        env = self.git_env(repo, token)
        url = env["GIT_CONFIG_VALUE_0"]
        with self._locked(repo) as path:
            if not (path / "HEAD").exists():
                git.Repo.init(path, bare=True).close()
                log.info("%s: new mirror at %s", repo, path)
            bare = git.Repo(path)
            try:
                bare.git.fetch(
                    "--no-tags", "--prune", "--quiet", "origin", *refspecs, env=env, kill_after_timeout=self.timeout
                )
            except git.GitCommandError as exc:
                bare.close()
                message = f"git fetch {repo} failed (exit {exc.status}): {exc.stderr.strip()}"
                raise MirrorError(redact(message, token, url)) from None
            return bare

    def pull_request(self, repo: str, token: str, number: int, base_ref: str, head_sha: str | None) -> PullTrees | None:
        """Base branch tip and the PR's head (the event's head_sha when it is still there). None when the
        event's commit is gone from the PR (force-pushed over): a newer event follows and is checked."""
        valid_branch(base_ref, MirrorError)
        pull_ref = f"refs/pull/{number}/head"
        bare = self.fetch(repo, token, [f"+refs/heads/{base_ref}:refs/heads/{base_ref}", f"+{pull_ref}:{pull_ref}"])
        try:
            base_sha = bare.git.rev_parse("--verify", f"refs/heads/{base_ref}^{{commit}}")
            head = bare.git.rev_parse("--verify", f"{pull_ref}^{{commit}}")
            if head_sha and head_sha != head:
                if not has_commit(bare, head_sha):
                    log.info("%s#%s: %s is no longer in the PR (now %s); skipping", repo, number, head_sha, head)
                    bare.close()
                    return None
                head = head_sha
            return PullTrees(
                repo=bare,
                base_sha=base_sha,
                head_sha=head,
                base=GitTree(bare, base_sha),
                head=GitTree(bare, head),
                changed=changed_files(bare, base_sha, head),
            )
        except git.GitCommandError as exc:
            bare.close()
            raise MirrorError(f"{repo}#{number}: cannot read the fetched commits: {exc.stderr.strip()}") from None

    def forget_pull(self, repo: str, number: int) -> None:
        """Drop a closed PR's head ref so the mirror does not keep its commits forever."""
        with self._locked(repo) as path:
            if (path / "HEAD").exists():
                bare = git.Repo(path)
                try:
                    bare.git.update_ref("-d", f"refs/pull/{number}/head")
                except git.GitCommandError:
                    pass
                finally:
                    bare.close()
