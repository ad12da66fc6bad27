"""Read-only file trees: a folder, a git commit (see gitrepo) or a dict, behind one small protocol."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol


class Entry(NamedTuple):
    """A file in a tree: its posix path relative to the root, and whether it is a symlink."""

    path: str
    is_symlink: bool = False


class Tree(Protocol):
    """What the core reads repositories through; it never opens files or runs git itself."""

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist (or is not a regular file)."""

    def files(self, prefix: str) -> list[Entry]:
        """Every file below the folder `prefix` (recursive, sorted); symlinks are listed, not followed."""

    def dirs(self, prefix: str) -> list[str]:
        """Names of the folders directly inside `prefix` (sorted); symlinked folders are not folders."""


class DirTree:
    """A folder on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._root = os.fspath(root)

    def read(self, path: str) -> bytes | None:
        full = os.path.join(self._root, path)
        try:  # plain os calls: reading thousands of small files is a hot path of `pledge render`
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                return None  # a symlink, a folder or something stranger
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            chunks = [os.read(fd, info.st_size + 1)]
            while chunks[-1]:
                chunks.append(os.read(fd, 1 << 16))
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)

    def files(self, prefix: str) -> list[Entry]:
        base = self.root / prefix if prefix else self.root
        if base.is_symlink() or not base.is_dir():
            return []
        out: list[Entry] = []
        start = prefix.strip("/")
        stack = [(str(base), start + "/" if start else "")]
        while stack:  # scandir's cached d_type: no extra stat per file
            folder, rel = stack.pop()
            with os.scandir(folder) as it:
                for item in it:
                    if item.is_symlink():
                        out.append(Entry(rel + item.name, True))
                    elif item.is_dir():
                        stack.append((item.path, rel + item.name + "/"))
                    else:
                        out.append(Entry(rel + item.name, False))
        out.sort()
        return out

    def dirs(self, prefix: str) -> list[str]:
        try:
            with os.scandir(os.path.join(self._root, prefix)) as it:
                return sorted(item.name for item in it if item.is_dir(follow_symlinks=False))
        except OSError:
            return []


def subfolders(paths: Iterable[str], prefix: str) -> list[str]:
    """The folder names directly inside `prefix`, from a list of file paths."""
    pre = prefix.strip("/") + "/" if prefix.strip("/") else ""
    return sorted({p[len(pre):].split("/", 1)[0] for p in paths if p.startswith(pre) and "/" in p[len(pre):]})


class MemoryTree:
    """A dict of path -> bytes (or str); for tests and for rendered plans."""

    def __init__(self, files: Mapping[str, bytes | str], symlinks: set[str] | None = None) -> None:
        self._files = {p: v.encode() if isinstance(v, str) else v for p, v in files.items()}
        self._symlinks = set(symlinks or ())

    def read(self, path: str) -> bytes | None:
        return None if path in self._symlinks else self._files.get(path)

    def files(self, prefix: str) -> list[Entry]:
        pre = prefix.rstrip("/") + "/" if prefix else ""
        names = [p for p in (*self._files, *self._symlinks) if p.startswith(pre)]
        return sorted(Entry(p, p in self._symlinks) for p in set(names))

    def dirs(self, prefix: str) -> list[str]:
        return subfolders(self._files, prefix)


@dataclass(frozen=True)
class Change:
    """A file changed between two trees: status A(dded), M(odified) or D(eleted); a move is a deletion and an
    addition (git diff --no-renames)."""

    path: str
    status: str


def diff_trees(base: Tree, head: Tree, prefixes: tuple[str, ...]) -> list[Change]:
    """Changes under `prefixes` found by reading both trees (the git adapter asks git instead)."""
    out: list[Change] = []
    for prefix in prefixes:
        old = {e.path: e for e in base.files(prefix)}
        new = {e.path: e for e in head.files(prefix)}
        for path in sorted(old.keys() | new.keys()):
            if path not in new:
                out.append(Change(path, "D"))
            elif path not in old:
                out.append(Change(path, "A"))
            elif old[path] != new[path] or base.read(path) != head.read(path):
                out.append(Change(path, "M"))
    return out
