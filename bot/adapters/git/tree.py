"""Git adapter: read a commit as a Tree and list what changed between two commits, without a checkout."""

from __future__ import annotations

import os
from pathlib import Path

import git

from bot.core.tree import Change, Entry, subfolders

_SYMLINK_MODE = "120000"
_FILE_MODES = {"100644", "100755"}


class GitTree:
    """One commit of a repository, read with `git ls-tree` and `git cat-file --batch`."""

    def __init__(self, repo: git.Repo | str | os.PathLike[str], rev: str) -> None:
        self.repo = repo if isinstance(repo, git.Repo) else git.Repo(str(repo))
        self.sha = self.repo.git.rev_parse("--verify", f"{rev}^{{commit}}")
        self._entries: dict[str, tuple[str, str]] | None = None  # path -> (mode, blob sha)

    def _index(self) -> dict[str, tuple[str, str]]:
        if self._entries is None:
            out = self.repo.git.ls_tree("-r", "-z", "--full-tree", self.sha)
            entries: dict[str, tuple[str, str]] = {}
            for record in out.split("\0"):
                if not record:
                    continue
                meta, path = record.split("\t", 1)
                mode, kind, sha = meta.split()
                if kind == "blob":
                    entries[path] = (mode, sha)
            self._entries = entries
        return self._entries

    def read(self, path: str) -> bytes | None:
        entry = self._index().get(path)
        if entry is None or entry[0] not in _FILE_MODES:
            return None
        _sha, _kind, _size, stream = self.repo.odb.stream(bytes.fromhex(entry[1]))
        data: bytes = stream.read()
        return data

    def dirs(self, prefix: str) -> list[str]:
        return subfolders(self._index(), prefix)

    def files(self, prefix: str) -> list[Entry]:
        pre = prefix.rstrip("/") + "/" if prefix else ""
        return sorted(
            Entry(path, mode == _SYMLINK_MODE)
            for path, (mode, _sha) in self._index().items()
            if path.startswith(pre)
        )


def changed_files(repo: git.Repo | str | Path, base: str, head: str) -> list[Change]:
    """Files changed from the merge base of `base` and `head` to `head` (what a pull request changes)."""
    r = repo if isinstance(repo, git.Repo) else git.Repo(str(repo))
    merge_base = r.git.merge_base(base, head)
    out = r.git.diff("--name-status", "-z", "--no-renames", merge_base, head)
    parts = [p for p in out.split("\0") if p]
    changes: list[Change] = []
    for status, path in zip(parts[0::2], parts[1::2], strict=True):
        changes.append(Change(path, status[0]))
    return changes
