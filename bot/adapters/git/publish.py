"""Publish merges: render the base branch tip, commit with git plumbing (no checkout), push; retry lost races."""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from typing import Literal

import git
from git.objects.fun import tree_entries_from_data, tree_to_stream
from gitdb.base import IStream
from gitdb.db import LooseObjectDB

from bot import __version__
from bot.adapters.git.tree import GitTree
from bot.core.build import Build, render_incremental
from bot.core.catalog import Catalog, load_catalog
from bot.core.layout import INDEX_HEADER, Plan, kustomization, owned, read_header
from bot.core.paths import CATALOG_DIRS, CLUSTERS, CONFIG_PATH, ENVIRONMENTS, REQUESTS, is_ignored, request_paths
from bot.core.platform import ConfigError, PlatformConfig, load_config
from bot.core.report import Finding
from bot.core.tree import Entry, Tree, subfolders

RENDER_LABEL = "pledge-render"
IDENTITY = ("Pledge", "pledge@users.noreply.github.com")
_TIP_REF = "refs/pledge/tips/"
_DIR, _FILE, _LINK = 0o40000, 0o100644, 0o120000
_RACE = re.compile(r"non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref", re.I)
_PROTECTED = re.compile(r"GH006|GH013|protected branch|repository rule violations", re.I)


class PublishError(RuntimeError):
    """Publishing failed for a reason a retry will not fix by itself (broken pledge.yaml, push refused)."""


class PublishRace(PublishError):
    """Every attempt lost the race to other pushes: requeue the job later."""


@dataclass(frozen=True)
class MergeInfo:
    """Why we publish: a merged pull request, or a push to the base branch outside any pull request."""

    pr: int | None
    title: str
    author: str
    approvers: tuple[str, ...] = ()
    requests: tuple[str, ...] = ()  # request paths the PR (or push) changed
    merge_sha: str | None = None  # the merge (or pushed) commit
    decisions: tuple[str, ...] = ()  # other audit trailers, e.g. "Held-by: Name <login>", "Unheld-by: ..."

    @classmethod
    def for_push(cls, *, after: str, pusher: str, changed: list[str]) -> MergeInfo:
        """A direct push: rendered like a merge, but it names no PR and no approver (it had no review)."""
        return cls(None, f"push {after[:7]} by {pusher}", pusher, (), request_paths(changed), after)


@dataclass
class Rendering:
    """A render of one commit: its plan, which requests it concerns and how much of the tree was read."""

    base: str
    build: Build
    key: str  # hashes what every rendered folder depends on besides its request: Pledge, catalog, pledge.yaml
    scope: str  # "full", or what Scope.describe() says was rendered
    requests: list[str] = field(default_factory=list)  # requests rendered or removed


@dataclass
class PublishResult:
    """What happened: pushed a render commit, found nothing to do, or pushed a render branch for a PR."""

    status: Literal["pushed", "up-to-date", "render-pr"]
    branch: str
    base: str  # the branch tip that was rendered
    commit: str | None = None
    render_branch: str | None = None
    label: str | None = None  # label for the render PR the caller opens
    written: dict[str, list[str]] = field(default_factory=dict)  # env -> paths written
    removed: dict[str, list[str]] = field(default_factory=dict)  # env -> paths deleted
    requests: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    attempts: int = 0

    @property
    def live_sha(self) -> str:
        """The commit whose application by Flux makes the merge live (a render PR: once it is merged)."""
        return self.commit or self.base


def publish(repo: git.Repo, *, remote: str = "origin", branch: str, merged: MergeInfo,
            git_env: Mapping[str, str] | None = None, identity: tuple[str, str] = IDENTITY,
            max_attempts: int = 5, backoff: float = 0.2, full: bool = False,
            sleep: Callable[[float], None] = time.sleep) -> PublishResult:
    """Render the tip of `branch` and push the result; on a lost race fetch, re-render and retry."""
    env = dict(git_env or {})
    with _locked(repo):
        for attempt in range(1, max_attempts + 1):
            tip = fetch_branch(repo, remote, branch, env)
            if merged.merge_sha and not ancestry(repo)(merged.merge_sha, tip):
                if attempt == max_attempts:  # GitHub sends the event once the ref moved; be patient anyway
                    raise PublishError(f"{merged.merge_sha[:12]} is not on {branch} (tip {tip[:12]})")
                sleep(backoff * 2 ** (attempt - 1))
                continue
            rendering = render_on_branch(repo, tip, full=full)
            result = _result("up-to-date", branch, rendering, attempt)
            if not rendering.build.plan:
                return result
            commit = commit_plan(repo, tip, rendering.build.plan, commit_message(merged, rendering), identity)
            outcome, detail = _push(repo, remote, commit, f"refs/heads/{branch}", env)
            if outcome == "ok":
                result.status, result.commit = "pushed", commit
                return result
            if outcome == "protected":
                result.status, result.label = "render-pr", RENDER_LABEL
                result.render_branch = render_branch_name(merged, tip)
                result.commit = _pushed_before(repo, remote, result.render_branch, commit, env) or commit
                if result.commit != commit:
                    return result
                outcome, detail = _push(repo, remote, commit, f"+refs/heads/{result.render_branch}", env)
                if outcome == "ok":
                    return result
            if outcome != "race":
                raise PublishError(f"git push to {branch} was refused: {detail}")
            if attempt < max_attempts:
                sleep(backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    raise PublishRace(f"{branch} moved under every one of {max_attempts} attempts; retry later")


def summary(result: PublishResult, commit_url: str | None = None, limit: int = 15) -> str:
    """Markdown for the merged PR: where its render went, and the paths written per environment."""
    sha = result.commit or result.base
    link = f"[`{sha[:12]}`]({commit_url})" if commit_url else f"`{sha[:12]}`"
    head = {
        "pushed": f"Pledge published this merge to `{result.branch}` in {link}; Flux applies it next.",
        "up-to-date": f"Nothing new to publish: `{result.branch}` at {link} already holds this render.",
        "render-pr": (f"`{result.branch}` is protected, so Pledge pushed the render to `{result.render_branch}` "
                      f"({link}). It is live once that pull request (label `{result.label}`) is merged."),
    }[result.status]
    lines = [head]
    for env in sorted(result.written.keys() | result.removed.keys()):
        paths = [f"`{p}`" for p in result.written.get(env, [])] + [f"~~`{p}`~~" for p in result.removed.get(env, [])]
        more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
        lines.append(f"- **{env}**: {', '.join(paths[:limit])}{more}")
    errors = [f for f in result.findings if f.severity == "error"]
    if errors:
        lines.append(f"\n{len(errors)} error(s) kept some requests from rendering; first: "
                     f"`{errors[0].path}`: {errors[0].message}")
    return "\n".join(lines) + "\n"


def render_branch_name(merged: MergeInfo, tip: str) -> str:
    return f"pledge/render-pr-{merged.pr}" if merged.pr is not None else f"pledge/render-{tip[:12]}"


def fetch_branch(repo: git.Repo, remote: str, branch: str, env: Mapping[str, str] | None = None) -> str:
    """Fetch `branch` into a private ref (no working tree touched) and return its tip."""
    if not branch or branch.startswith("-") or ".." in branch:
        raise PublishError(f"not a branch name: {branch!r}")
    _git(repo, "fetch", "--no-tags", "--no-write-fetch-head", "--quiet", remote,
         f"+refs/heads/{branch}:{_TIP_REF}{branch}", env=env)
    return repo.commit(_TIP_REF + branch).hexsha


def ancestry(repo: git.Repo) -> Callable[[str, str], bool]:
    """is_ancestor(render_sha, reported_sha) for bot.core.flux; False when either commit is unknown here."""
    def is_ancestor(render_sha: str, reported_sha: str) -> bool:
        args = ["git", "--git-dir", repo.git_dir, "merge-base", "--is-ancestor", render_sha, reported_sha]
        return subprocess.run(args, capture_output=True).returncode == 0
    return is_ancestor


def render_key(config: PlatformConfig, catalog: Catalog) -> str:
    h = hashlib.sha256(f"{__version__}\0{catalog.digest}\0".encode() + config.source)
    return "sha256:" + h.hexdigest()


def render_on_branch(repo: git.Repo, rev: str, *, full: bool = False) -> Rendering:
    """Render commit `rev`: only what changed since the last render commit (see Scope), or all requests."""
    tip = repo.commit(rev).hexsha
    tree = CommitTree(repo, tip)
    try:
        config = load_config(tree)
    except ConfigError as exc:
        raise PublishError(f"pledge.yaml at {tip[:12]} is broken: {exc}") from None
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    key = render_key(config, catalog)
    scope = None if full else _scope(repo, tip, key)
    if scope is None:
        build, shown = render_incremental(GitTree(repo, tip), config, catalog), "full"
    else:
        build, shown = _render_scoped(tree, config, catalog, scope), scope.describe()
    unsafe = [p for p in build.plan if not owned(p) or ".." in p.split("/")]
    if unsafe:
        raise PublishError(f"refusing to write outside environments/ and clusters/: {unsafe[0]}")
    removed = {read_header(tree.read(p)) for p, d in build.plan.items() if d is None and _is_folder_index(p)}
    requests = sorted(set(build.rendered) | {h[0] for h in removed if h})
    return Rendering(tip, build, key, shown, requests)


@dataclass
class Scope:
    """What may be stale since the last render commit: single request files, whole team folders (when
    rendered files changed there), and environments whose kustomization changed."""

    paths: set[str] = field(default_factory=set)
    dirs: set[tuple[str, str]] = field(default_factory=set)
    envs: set[str] = field(default_factory=set)

    def describe(self) -> str:
        return f"{len(self.paths)} request(s), {len(self.dirs)} team folder(s) since the last render"

    def teams(self) -> set[tuple[str, str]]:
        return self.dirs | {(p.split("/")[1], p.split("/")[2]) for p in self.paths}


def _scope(repo: git.Repo, tip: str, key: str) -> Scope | None:
    """The Scope of `tip` against the newest render commit, or None when everything must be rendered."""
    anchor = _anchor(repo, tip)
    if anchor is None or anchor[1] != key:
        return None  # no render commit yet, or Pledge, the catalog or pledge.yaml changed since
    scope = Scope()
    for path in _git(repo, "diff", "--name-only", "-z", "--no-renames", anchor[0], tip).split("\0"):
        parts = path.split("/")
        if not path or (parts[0] == REQUESTS and is_ignored(path)):
            continue
        if parts[0] == REQUESTS and len(parts) == 4:
            scope.paths.add(path)
        elif parts[0] == ENVIRONMENTS and len(parts) >= 4:
            scope.dirs.add((parts[1], parts[2]))
        elif parts[0] == ENVIRONMENTS and len(parts) == 3:
            scope.envs.add(parts[1])
        elif parts[0] in (REQUESTS, ENVIRONMENTS, *CATALOG_DIRS) or path == CONFIG_PATH or (
                parts[0] == CLUSTERS and owned(path)):
            return None  # a misplaced request, the catalog, pledge.yaml or Flux objects: render everything
    scope.paths = {p for p in scope.paths if (p.split("/")[1], p.split("/")[2]) not in scope.dirs}
    return scope


def _anchor(repo: git.Repo, tip: str) -> tuple[str, str] | None:
    """(sha, render key) of the newest render commit still whole: its recorded parent is its parent and
    it changes only files Pledge owns. Its tree is consistent, so only what differs since needs work."""
    out = _git(repo, "log", "-n", "20", "--format=%H%x00%P%x00%B%x1e", "--grep=^Pledge-Rendered-From: ", tip)
    for record in out.split("\x1e"):
        if record.strip():
            sha, parents, body = record.strip("\n").split("\0", 2)
            trailers = dict(re.findall(r"^(Pledge-Render(?:ed-From|-Key)): (\S+)$", body, re.M))
            if parents.split() == [trailers.get("Pledge-Rendered-From")]:
                names = _git(repo, "diff", "--name-only", "-z", "--no-renames", parents, sha).split("\0")
                if all(owned(n) for n in names if n):
                    return sha, trailers.get("Pledge-Render-Key", "")
    return None


def _render_scoped(tree: CommitTree, config: PlatformConfig, catalog: Catalog, scope: Scope) -> Build:
    """render_incremental shown only the Scope; the kustomizations that list folders or teams outside it
    (a team's, when only some of its requests are shown; an environment's) are recomputed from listings."""
    build = render_incremental(_ScopedTree(tree, scope), config, catalog)
    plan: Plan = {p: d for p, d in build.plan.items() if p.count("/") >= 4 or (
        p.count("/") == 3 and p.startswith(ENVIRONMENTS + "/") and tuple(p.split("/")[1:3]) in scope.dirs)}
    present: dict[tuple[str, str], bool] = {}
    for env, team in scope.teams():
        folder = f"{ENVIRONMENTS}/{env}/{team}"
        index = f"{folder}/kustomization.yaml"
        if (env, team) not in scope.dirs:  # only some requests were shown: list the folders again
            names = set(tree.dirs(folder))
            for path, data in plan.items():
                if path.startswith(folder + "/") and _is_folder_index(path):
                    (names.discard if data is None else names.add)(path.split("/")[3])
            _put(plan, tree, index, kustomization(names, INDEX_HEADER) if names else None)
        present[(env, team)] = plan.get(index, tree.read(index)) is not None
    for env in scope.envs | {e for e, _ in scope.teams()}:
        teams = {t for t in tree.dirs(f"{ENVIRONMENTS}/{env}") if present.get((env, t), True)}
        teams |= {t for (e, t), there in present.items() if e == env and there}
        if teams or config.env(env):
            _put(plan, tree, f"{ENVIRONMENTS}/{env}/kustomization.yaml", kustomization(teams, INDEX_HEADER))
    build.plan = plan
    return build


def _put(plan: Plan, tree: Tree, path: str, data: bytes | None) -> None:
    if tree.read(path) != data:
        plan[path] = data
    else:
        plan.pop(path, None)


def _is_folder_index(path: str) -> bool:
    """environments/<env>/<team>/<folder>/kustomization.yaml: a rendered request's folder."""
    return path.count("/") == 4 and path.startswith(ENVIRONMENTS + "/") and path.endswith("/kustomization.yaml")


class CommitTree:
    """A commit read tree object by tree object through GitPython's object database: the cost follows what
    is read, not the size of the repository (GitTree lists every file of the commit first)."""

    def __init__(self, repo: git.Repo, sha: str) -> None:
        self.odb = repo.odb
        self.root: bytes = repo.commit(sha).tree.binsha
        self._trees: dict[bytes, dict[str, tuple[bytes, int]]] = {}

    def _entries(self, binsha: bytes) -> dict[str, tuple[bytes, int]]:
        if binsha not in self._trees:
            raw = self.odb.stream(binsha).read()
            self._trees[binsha] = {name: (sha, mode) for sha, mode, name in tree_entries_from_data(raw)}
        return self._trees[binsha]

    def _lookup(self, path: str) -> tuple[bytes, int] | None:
        node: tuple[bytes, int] | None = (self.root, _DIR)
        for part in (p for p in path.split("/") if p):
            if node is None or node[1] != _DIR:
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
        return Entry(path, node[1] == _LINK) if node and node[1] >> 12 in (8, 10) else None

    def dirs(self, prefix: str) -> list[str]:
        node = self._lookup(prefix)
        if node is None or node[1] != _DIR:
            return []
        return sorted(n for n, (_s, mode) in self._entries(node[0]).items() if mode == _DIR)

    def _walk(self, prefix: str) -> Iterator[Entry]:
        node = self._lookup(prefix)
        if node is None or node[1] != _DIR:
            return
        for name, (_sha, mode) in self._entries(node[0]).items():
            path = f"{prefix}/{name}" if prefix else name
            if mode == _DIR:
                yield from self._walk(path)
            elif mode >> 12 in (8, 10):  # files and symlinks; submodules are not files
                yield Entry(path, mode == _LINK)


class _ScopedTree:
    """What render_incremental is shown: the Scope's requests and the folders rendered from them."""

    def __init__(self, tree: CommitTree, scope: Scope) -> None:
        self.tree = tree
        listing = {top: [e for env, team in scope.dirs for e in tree.files(f"{top}/{env}/{team}")]
                   for top in (REQUESTS, ENVIRONMENTS)}
        for path in scope.paths:
            entry = tree.entry(path)
            listing[REQUESTS] += [entry] if entry else []
            _, env, team, base = path.split("/")
            folder = f"{ENVIRONMENTS}/{env}/{team}"
            for name in tree.dirs(folder) if base.endswith(".yaml") else []:
                if name.endswith("-" + base[: -len(".yaml")]):  # a request's folder is <offering>-<file stem>
                    header = read_header(tree.read(f"{folder}/{name}/kustomization.yaml"))
                    if header and header[0] == path:
                        listing[ENVIRONMENTS] += tree.files(f"{folder}/{name}")
        self.listing = {top: sorted(entries) for top, entries in listing.items()}

    def read(self, path: str) -> bytes | None:
        return self.tree.read(path)

    def files(self, prefix: str) -> list[Entry]:
        top = prefix.strip("/")
        return self.listing[top] if top in self.listing else self.tree.files(prefix)

    def dirs(self, prefix: str) -> list[str]:
        top = prefix.strip("/").split("/", 1)[0]
        if top in self.listing:  # the same restricted view as files()
            return subfolders((e.path for e in self.listing[top]), prefix)
        return self.tree.dirs(prefix)


def commit_plan(repo: git.Repo, parent: str, plan: Plan, message: str,
                identity: tuple[str, str] = IDENTITY) -> str:
    """Write the plan's blobs and the changed trees into the object database and commit them on `parent`;
    no index, no working tree, no subprocess (GitPython's odb.store would run `git hash-object` per object)."""
    odb = _Objects(repo)
    blobs: dict[str, bytes | None] = {p: None if d is None else _store(odb, b"blob", d) for p, d in plan.items()}
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
            entries[head] = (blob, _FILE)
    for name, inner in below.items():
        old = entries.get(name)
        new = _write_tree(odb, old[0] if old and old[1] == _DIR else None, inner)
        if new is None:
            entries.pop(name, None)
        else:
            entries[name] = (new, _DIR)
    if not entries:
        return None
    order = sorted(entries, key=lambda n: n.encode() + (b"/" if entries[n][1] == _DIR else b""))
    out = BytesIO()
    tree_to_stream([(entries[n][0], entries[n][1], n) for n in order], out.write)
    return _store(odb, b"tree", out.getvalue())


def commit_message(merged: MergeInfo, rendering: Rendering) -> str:
    """Subject naming the PR, a body listing what was written per environment, and the trailers."""
    what = f"#{merged.pr} {_one(merged.title)}" if merged.pr is not None else _one(merged.title)
    lines = [f"Pledge: render {what}"[:200], ""]
    lines.append(f"Rendered from {rendering.base[:12]} ({rendering.scope}).")
    for env, (written, removed) in sorted(_by_env(rendering.build.plan).items()):
        lines.append(f"{env}: {len(written)} file(s) written, {len(removed)} removed")
    lines.append("")
    lines += [f"Pledge-Request: {p}" for p in sorted(set(merged.requests) | set(rendering.requests))]
    if merged.pr is not None:
        lines.append(f"Pledge-PR: #{merged.pr}")
    else:
        lines.append(f"Pledge-Push: {merged.merge_sha or '-'}")
    lines.append(f"Requested-by: {_one(merged.author)}")
    lines += [f"Approved-by: {_one(a)}" for a in merged.approvers]
    lines += [_one(d) for d in merged.decisions if d.startswith(("Held-by: ", "Unheld-by: "))]
    lines += [f"Pledge-Rendered-From: {rendering.base}", f"Pledge-Render-Key: {rendering.key}"]
    return "\n".join(lines) + "\n"


def _one(text: str) -> str:
    """Subjects and trailers are single lines."""
    return " ".join(str(text).split())


def _by_env(plan: Plan) -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for path in sorted(plan):
        written, removed = out.setdefault(path.split("/")[1], ([], []))
        (removed if plan[path] is None else written).append(path)
    return out


def _result(status: Literal["up-to-date"], branch: str, rendering: Rendering, attempt: int) -> PublishResult:
    by_env = _by_env(rendering.build.plan)
    return PublishResult(status, branch, rendering.base,
                         written={e: w for e, (w, _r) in by_env.items() if w},
                         removed={e: r for e, (_w, r) in by_env.items() if r},
                         requests=rendering.requests, findings=rendering.build.findings, attempts=attempt)


def _push(repo: git.Repo, remote: str, commit: str, dest: str,
          env: Mapping[str, str]) -> tuple[Literal["ok", "race", "protected", "error"], str]:
    """Push `commit` to `dest` (a compare-and-swap: the remote refuses anything but a fast-forward)."""
    force = dest.startswith("+")
    spec = f"{'+' if force else ''}{commit}:{dest.lstrip('+')}"
    proc = _run(repo, ["push", "--porcelain", "--no-verify", remote, spec], env)
    text = f"{proc.stdout}\n{proc.stderr}"
    if proc.returncode == 0:
        return "ok", ""
    detail = " ".join(line.strip() for line in text.splitlines() if line.strip() and "To " not in line)[:500]
    if _PROTECTED.search(text):
        return "protected", detail
    if _RACE.search(text):
        return "race", detail
    return "error", detail


def _pushed_before(repo: git.Repo, remote: str, name: str, commit: str, env: Mapping[str, str]) -> str | None:
    """The render branch's commit when an earlier run already pushed this same render (same parent, same
    tree), so replaying a merge on a protected branch pushes nothing new."""
    proc = _run(repo, ["fetch", "--no-tags", "--no-write-fetch-head", "--quiet", remote,
                       f"+refs/heads/{name}:refs/pledge/render/{name}"], env)
    if proc.returncode != 0:
        return None
    old = _git(repo, "rev-parse", f"refs/pledge/render/{name}").strip()
    same = all(_git(repo, "rev-parse", f"{old}{suffix}") == _git(repo, "rev-parse", f"{commit}{suffix}")
               for suffix in ("^{tree}", "^1"))
    return old if same else None


def _git(repo: git.Repo, *args: str, env: Mapping[str, str] | None = None) -> str:
    proc = _run(repo, list(args), env or {})
    if proc.returncode != 0:
        raise PublishError(f"git {args[0]} failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    return proc.stdout


def _run(repo: git.Repo, args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **env}
    return subprocess.run(["git", "--git-dir", repo.git_dir, *args], capture_output=True, text=True,
                          env=full_env, timeout=600)


@contextmanager
def _locked(repo: git.Repo) -> Iterator[None]:
    """One publish at a time per local repository (threads and processes); other clones race via git."""
    with open(os.path.join(repo.git_dir, "pledge-publish.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
