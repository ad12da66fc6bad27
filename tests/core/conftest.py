"""Fixtures for the core: a small platform repository with its own one-offering catalog."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

MINIREPO = Path(__file__).parent / "minirepo"


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of tests/core/minirepo in tmp_path (not a git repository)."""
    dest = tmp_path / "platform"
    shutil.copytree(MINIREPO, dest)
    return dest


@pytest.fixture
def write(repo: Path) -> Callable[[str, str | bytes], Path]:
    def _write(rel: str, content: str | bytes) -> Path:
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return _write


@pytest.fixture
def gitrepo(repo: Path) -> Path:
    """The minirepo as a git repository with one commit on main."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "platform")
    return repo


def request(name: str = "sessions", team: str = "payments", size: object = 2, **extra: str) -> str:
    lines = ["apiVersion: pledge.dev/v1", "kind: Cache", "metadata:", f"  name: {name}", f"  team: {team}",
             "spec:", f"  size: {size}"]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"
