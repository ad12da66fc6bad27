"""The one commit builder: blobs, trees and a commit written straight into the object database (no index)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from io import BytesIO

import git
from git.objects.fun import tree_entries_from_data, tree_to_stream
from gitdb.base import IStream
from gitdb.db import LooseObjectDB

from bot.adapters.git.tree import DIR_MODE, FILE_MODE

IDENTITY = ("Pledge", "pledge@users.noreply.github.com")
Changes = Mapping[str, bytes | None]  # path -> new content, None deletes


def commit_files(repo: git.Repo, parent: str, changes: Changes, message: str,
                 identity: tuple[str, str] = IDENTITY) -> str:
    """Write `changes` on top of `parent`'s tree and commit them; no index, no working tree, no subprocess
    (GitPython's odb.store would run `git hash-object` per object). Returns the new commit's SHA."""
    odb = _Objects(repo)
    blobs: dict[str, bytes | None] = {p: None if d is None else _store(odb, b"blob", d) for p, d in changes.items()}
    base = repo.commit(parent).tree.binsha
    tree = _write_tree(odb, base, blobs) or _store(odb, b"tree", b"")
    stamp = f"{identity[0]} <{identity[1]}> {int(time.time())} +0000"
    body = (f"tree {tree.hex()}\nparent {parent}\nauthor {stamp}\ncommitter {stamp}\n\n"
            f"{message.rstrip()}\n").encode()
    return _store(odb, b"commit", body).hex()


class _Objects:
    """Reads through git cat-file (packs and loose objects), writes loose objects in-process."""

    def __init__(self, repo: git.Repo) -> None:
        self.stream = repo.odb.stream
        self.loose = LooseObjectDB(os.path.join(repo.git_dir, "objects"))


def _store(odb: _Objects, kind: bytes, data: bytes) -> bytes:
    binsha: bytes = odb.loose.store(IStream(kind, len(data), BytesIO(data))).binsha
    return binsha


def _write_tree(odb: _Objects, base: bytes | None, changes: Mapping[str, bytes | None]) -> bytes | None:
    """A tree equal to `base` with `changes` (path -> blob sha, None deletes) applied; None when empty."""
    entries: dict[str, tuple[bytes, int]] = {}
    if base is not None:
        raw = odb.stream(base).read()
        entries = {name: (sha, mode) for sha, mode, name in tree_entries_from_data(raw)}
    below: dict[str, dict[str, bytes | None]] = {}
    for path, blob in changes.items():
        head, _, rest = path.partition("/")
        if rest:
            below.setdefault(head, {})[rest] = blob
        elif blob is None:
            entries.pop(head, None)
        else:
            entries[head] = (blob, FILE_MODE)
    for name, inner in below.items():
        old = entries.get(name)
        new = _write_tree(odb, old[0] if old and old[1] == DIR_MODE else None, inner)
        if new is None:
            entries.pop(name, None)
        else:
            entries[name] = (new, DIR_MODE)
    if not entries:
        return None
    order = sorted(entries, key=lambda n: n.encode() + (b"/" if entries[n][1] == DIR_MODE else b""))
    out = BytesIO()
    tree_to_stream([(entries[n][0], entries[n][1], n) for n in order], out.write)
    return _store(odb, b"tree", out.getvalue())
