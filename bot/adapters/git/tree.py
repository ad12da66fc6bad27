"""Git trees: one commit read as a Tree object by object (no checkout), and what changed between two commits."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import git
from git.objects.fun import tree_entries_from_data

from bot.core.tree import Change, Entry

DIR_MODE, FILE_MODE, LINK_MODE = 0o40000, 0o100644, 0o120000
_SHA = re.compile(r"^[0-9a-f]{40}$")


class GitTree:
    """A commit read tree object by tree object through GitPython's object database: the cost follows what
    is read, not the size of the repository."""

    def __init__(self, repo: git.Repo | str | os.PathLike[str], rev: str) -> None:
        self.repo = repo if isinstance(repo, git.Repo) else git.Repo(str(repo))
        if not _SHA.match(rev):  # a name: resolve it the way git does (GitCommandError when unknown)
            rev = self.repo.git.rev_parse("--verify", f"{rev}^{{commit}}")
        commit = self.repo.commit(rev)
        self.sha: str = commit.hexsha
        self.odb = self.repo.odb
        self.root: bytes = commit.tree.binsha
        self._trees: dict[bytes, dict[str, tuple[bytes, int]]] = {}

    def _entries(self, binsha: bytes) -> dict[str, tuple[bytes, int]]:
        if binsha not in self._trees:
            raw = self.odb.stream(binsha).read()
            self._trees[binsha] = {name: (sha, mode) for sha, mode, name in tree_entries_from_data(raw)}
        return self._trees[binsha]

    def _lookup(self, path: str) -> tuple[bytes, int] | None:
        node: tuple[bytes, int] | None = (self.root, DIR_MODE)
        for part in (p for p in path.split("/") if p):
            if node is None or node[1] != DIR_MODE:
                return None
            node = self._entries(node[0]).get(part)
        return node

    def read(self, path: str) -> bytes | None:
        node = self._lookup(path)
        if node is None or node[1] >> 12 != 8:  # regular files only (0o100644, 0o100755)
            return None
        data: bytes = self.odb.stream(node[0]).read()
        return data

    def files(self, prefix: str) -> list[Entry]:
        return sorted(self._walk(prefix.strip("/")))

    def entry(self, path: str) -> Entry | None:
        node = self._lookup(path)
        return Entry(path, node[1] == LINK_MODE) if node and node[1] >> 12 in (8, 10) else None

    def dirs(self, prefix: str) -> list[str]:
        node = self._lookup(prefix)
        if node is None or node[1] != DIR_MODE:
            return []
        return sorted(n for n, (_s, mode) in self._entries(node[0]).items() if mode == DIR_MODE)

    def _walk(self, prefix: str) -> Iterator[Entry]:
        node = self._lookup(prefix)
        if node is None or node[1] != DIR_MODE:
            return
        for name, (_sha, mode) in self._entries(node[0]).items():
            path = f"{prefix}/{name}" if prefix else name
            if mode == DIR_MODE:
                yield from self._walk(path)
            elif mode >> 12 in (8, 10):  # files and symlinks; submodules are not files
                yield Entry(path, mode == LINK_MODE)


def changed_files(repo: git.Repo | str | Path, base: str, head: str) -> list[Change]:
    """Files changed from the merge base of `base` and `head` to `head` (what a pull request changes)."""
    r = repo if isinstance(repo, git.Repo) else git.Repo(str(repo))
    return diff_names(r, r.git.merge_base(base, head), head)


def diff_names(repo: git.Repo, before: str, after: str) -> list[Change]:
    """Every file changed from `before` to `after`, renames as a deletion and an addition."""
    out = repo.git.diff("--name-status", "-z", "--no-renames", before, after)
    parts = [p for p in out.split("\0") if p]
    return [Change(path, status[0]) for status, path in zip(parts[0::2], parts[1::2], strict=True)]


def has_commit(bare: git.Repo, sha: str) -> bool:
    """Whether the repository holds commit `sha`."""
    try:
        bare.git.cat_file("-e", f"{sha}^{{commit}}")
        return True
    except git.GitCommandError:
        return False


def is_ancestor(repo: git.Repo, older: str, newer: str) -> bool:
    """Whether `older` is an ancestor of (or equal to) `newer`; False when either is unknown here."""
    try:
        repo.git.merge_base("--is-ancestor", older, newer)
        return True
    except git.GitCommandError:
        return False
