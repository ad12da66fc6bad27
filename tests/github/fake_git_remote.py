"""A local stand-in for GitHub's git side: a bare repository per owner/name (reached with a file:// URL
template, PLEDGE_GIT_URL) where pull requests live under refs/pull/<n>/head as on GitHub."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
       "GIT_COMMITTER_EMAIL": "dev@example.com", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp"}


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=ENV)
    return out.stdout.strip()


class GitRemote:
    """`root/remote/<owner>/<name>.git` seeded from a folder on `main`; a work clone makes PR commits."""

    def __init__(self, root: Path, seed: Path, repo: str = "acme/platform", branch: str = "main") -> None:
        self.root, self.repo, self.branch = root, repo, branch
        self.bare = root / "remote" / f"{repo}.git"
        self.bare.mkdir(parents=True)
        git(self.bare, "init", "-q", "--bare", "-b", branch)
        self.work = root / "work" / repo
        shutil.copytree(seed, self.work)
        git(self.work, "init", "-q", "-b", branch)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", "platform")
        git(self.work, "remote", "add", "origin", str(self.bare))
        git(self.work, "push", "-q", "origin", branch)

    @property
    def url_template(self) -> str:
        """PLEDGE_GIT_URL for this remote ({token} is accepted and ignored by file://)."""
        return f"file://{self.root}/remote/{{repo}}.git"

    def _write(self, files: dict[str, str | None]) -> None:
        for rel, content in files.items():
            path = self.work / rel
            if content is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)

    def commit_base(self, files: dict[str, str | None], message: str = "base change") -> str:
        git(self.work, "checkout", "-q", self.branch)
        self._write(files)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", self.branch)
        return git(self.work, "rev-parse", "HEAD")

    def push_pr(self, number: int, files: dict[str, str | None], message: str = "change", *,
                from_base: bool = True) -> str:
        """Commit `files` on the PR's branch (new from main, or on top of the PR's previous head) and update
        refs/pull/<number>/head like GitHub does; returns the head SHA."""
        branch = f"pr-{number}"
        if from_base:
            git(self.work, "checkout", "-q", "-B", branch, self.branch)
        else:
            git(self.work, "checkout", "-q", branch)
        self._write(files)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "-f", "origin", f"HEAD:refs/pull/{number}/head")
        sha = git(self.work, "rev-parse", "HEAD")
        git(self.work, "checkout", "-q", self.branch)
        return sha

    def base_sha(self) -> str:
        return git(self.bare, "rev-parse", self.branch)
