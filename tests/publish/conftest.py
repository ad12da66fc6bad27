"""Fixtures for publishing: a bare 'GitHub' remote in tmp_path, developer clones that merge, worker clones."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import git
import pytest

from bot.adapters.git.tree import GitTree
from bot.core.build import render_full
from bot.core.catalog import load_catalog
from bot.core.layout import Plan
from bot.core.platform import load_config
from bot.core.publish import MergeInfo

PLATFORM = Path(__file__).parent / "platform"
GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def run_git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                         env={**_base_env(), **GIT_ENV})
    return out.stdout.strip()


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def request(name: str, team: str = "payments", size: int = 2) -> str:
    return (f"apiVersion: pledge.dev/v1\nkind: Cache\nmetadata:\n  name: {name}\n  team: {team}\n"
            f"spec:\n  size: {size}\n")


class Remote:
    """A bare repository playing GitHub, and helpers that merge changes into main as a PR merge would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = root / "remote.git"
        run_git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        seed = root / "seed"
        shutil.copytree(PLATFORM, seed)
        run_git(seed, "init", "-q", "-b", "main")
        run_git(seed, "add", "-A")
        run_git(seed, "commit", "-q", "-m", "platform")
        run_git(seed, "push", "-q", str(self.bare), "main")
        self._n = 0

    def clone(self, name: str) -> git.Repo:
        dest = self.root / name
        run_git(self.root, "clone", "-q", str(self.bare), str(dest))
        return git.Repo(dest)

    def merge(self, changes: Mapping[str, str | None], title: str = "change", who: str = "dev") -> str:
        """Commit `changes` (path -> text, None deletes) on top of main and push; retries lost races."""
        self._n += 1
        work = self.root / f"{who}-{self._n}"
        run_git(self.root, "clone", "-q", str(self.bare), str(work))
        for _ in range(20):
            run_git(work, "fetch", "-q", "origin")
            run_git(work, "reset", "-q", "--hard", "origin/main")
            for path, text in changes.items():
                target = work / path
                if text is None:
                    target.unlink()
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
            run_git(work, "add", "-A")
            run_git(work, "commit", "-q", "-m", title)
            try:
                run_git(work, "push", "-q", "origin", "HEAD:main")
                return run_git(work, "rev-parse", "HEAD")
            except subprocess.CalledProcessError:
                continue
        raise AssertionError("could not merge after 20 attempts")

    def tip(self, branch: str = "main") -> str:
        return run_git(self.bare, "rev-parse", f"refs/heads/{branch}")

    def count(self, branch: str = "main") -> int:
        return int(run_git(self.bare, "rev-list", "--count", f"refs/heads/{branch}"))

    def message(self, rev: str) -> str:
        return run_git(self.bare, "log", "-1", "--format=%B", rev)

    def protect(self) -> None:
        """Reject pushes to main the way GitHub does for a protected branch."""
        hook = self.bare / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/heads/main ]; then\n"
                        "    echo 'error: GH006: Protected branch update failed for refs/heads/main.' >&2\n"
                        "    echo 'error: Changes must be made through a pull request.' >&2\n"
                        "    exit 1\n  fi\ndone\nexit 0\n")
        hook.chmod(0o755)


def drift(bare: Path, rev: str = "refs/heads/main") -> Plan:
    """What `pledge render --check` would complain about on `rev` (empty when published correctly)."""
    tree = GitTree(git.Repo(bare), rev)
    config = load_config(tree)
    return render_full(tree, config, load_catalog(tree, bundled=config.bundled_catalog)).plan


def rendered_files(bare: Path, rev: str = "refs/heads/main") -> list[str]:
    tree = GitTree(git.Repo(bare), rev)
    return [e.path for e in tree.files("environments")]


def merge_info(pr: int, requests: tuple[str, ...], sha: str | None = None) -> MergeInfo:
    return MergeInfo(pr=pr, title=f"Request #{pr}", author="alice", approvers=("bob", "carol"),
                     requests=requests, merge_sha=sha)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path)
