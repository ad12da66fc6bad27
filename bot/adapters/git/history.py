"""When each request file appeared and last changed, from one `git log --name-only` pass over requests/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import git

from bot.core.inventory import FileHistory
from bot.core.paths import REQUESTS


def request_history(root: Path, prefix: str = REQUESTS) -> dict[str, FileHistory] | None:
    """path (relative to `root`) -> FileHistory for every file under `prefix` that any commit touched; None when
    `root` is not inside a git work tree. One `git log` for all files: per-file logs are far too slow.
    Renames are not followed: a moved file's history starts at the move."""
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.working_tree_dir is None:
        return None
    sub = root.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    scope = prefix if sub == "." else f"{sub}/{prefix}"
    try:
        out = repo.git(c="core.quotePath=false").log("--name-only", "--no-renames", "--format=%x00%ct", "--", scope)
    except git.GitCommandError:  # no commit yet
        return {}
    strip = "" if sub == "." else sub + "/"
    found: dict[str, FileHistory] = {}
    when: datetime | None = None
    for line in out.splitlines():
        if line.startswith("\x00"):
            when = datetime.fromtimestamp(int(line[1:]), UTC)
        elif line and when is not None and line.startswith(strip):
            path = line[len(strip):]
            seen = found.get(path)  # newest first: the first sighting is the last change
            found[path] = FileHistory(created=when, changed=seen.changed if seen else when)
    return found
