"""Talking to the remote with the git CLI: the token only in GIT_CONFIG_* variables, push outcomes classified."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from typing import Literal

import git

_RACE = re.compile(r"non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref", re.I)
_PROTECTED = re.compile(r"GH006|GH013|protected branch|repository rule violations", re.I)
_TIP_REF = "refs/pledge/tips/"
PushOutcome = Literal["ok", "race", "protected", "error"]


class GitError(RuntimeError):
    """git could not fetch, read or push; the message never contains the token."""


def remote_env(url: str) -> dict[str, str]:
    """Environment that makes `origin` the repository's URL with the token: in no argv, config file or log."""
    return {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "remote.origin.url",
            "GIT_CONFIG_VALUE_0": url}


def redact(text: str, token: str, url: str) -> str:
    """`text` without the remote URL (it holds the token) and without the token itself."""
    if url:
        text = text.replace(url, "<remote>")
    return text.replace(token, "***") if token else text


def run(repo: git.Repo, args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **env}
    return subprocess.run(["git", "--git-dir", repo.git_dir, *args], capture_output=True, text=True,
                          env=full_env, timeout=600)


def output(repo: git.Repo, *args: str, env: Mapping[str, str] | None = None) -> str:
    """stdout of one git command; GitError (with git's own message) when it fails."""
    proc = run(repo, list(args), env or {})
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    return proc.stdout


def valid_branch(branch: str, error: type[GitError] = GitError) -> str:
    """`branch` when it is a plain branch name git cannot mistake for an option or a range."""
    if not branch or branch.startswith("-") or ".." in branch:
        raise error(f"not a branch name: {branch!r}")
    return branch


def fetch_branch(repo: git.Repo, remote: str, branch: str, env: Mapping[str, str] | None = None) -> str:
    """Fetch `branch` into a private ref (no working tree touched) and return its tip."""
    valid_branch(branch)
    output(repo, "fetch", "--no-tags", "--no-write-fetch-head", "--quiet", remote,
           f"+refs/heads/{branch}:{_TIP_REF}{branch}", env=env)
    return repo.commit(_TIP_REF + branch).hexsha


def push(repo: git.Repo, remote: str, commit: str, dest: str, env: Mapping[str, str]) -> tuple[PushOutcome, str]:
    """Push `commit` to `dest` (without a leading +, a compare-and-swap: the remote refuses anything but a
    fast-forward). The outcome says whether another push won the race or the branch is protected."""
    force = dest.startswith("+")
    spec = f"{'+' if force else ''}{commit}:{dest.lstrip('+')}"
    proc = run(repo, ["push", "--porcelain", "--no-verify", remote, spec], env)
    text = f"{proc.stdout}\n{proc.stderr}"
    if proc.returncode == 0:
        return "ok", ""
    detail = " ".join(line.strip() for line in text.splitlines() if line.strip() and "To " not in line)[:500]
    if _PROTECTED.search(text):
        return "protected", detail
    if _RACE.search(text):
        return "race", detail
    return "error", detail
