"""Publish merges: render the base branch tip, commit it (no checkout), push; fetch and retry lost races."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import git

from bot.adapters.git.commit import IDENTITY, commit_files
from bot.adapters.git.lock import file_lock
from bot.adapters.git.remote import GitError, fetch_branch, output, push, run
from bot.adapters.git.tree import GitTree, is_ancestor
from bot.core.build import Build, misplaced, render_incremental
from bot.core.catalog import Catalog, load_catalog
from bot.core.layout import INDEX_HEADER, Plan, kustomization, owned, read_header
from bot.core.paths import CATALOG_DIRS, CLUSTERS, CONFIG_PATH, ENVIRONMENTS, REQUESTS, is_ignored
from bot.core.platform import ConfigError, PlatformConfig, load_config
from bot.core.publish import (
    RENDER_LABEL,
    MergeInfo,
    PublishResult,
    Rendering,
    commit_message,
    render_branch_name,
    render_key,
    unchanged_result,
)
from bot.core.tree import Entry, Tree, subfolders


class PublishError(GitError):
    """Publishing failed for a reason a retry will not fix by itself (broken pledge.yaml, push refused)."""


class PublishRace(PublishError):
    """Every attempt lost the race to other pushes: requeue the job later."""


def publish(repo: git.Repo, *, remote: str = "origin", branch: str, merged: MergeInfo,
            git_env: Mapping[str, str] | None = None, identity: tuple[str, str] = IDENTITY,
            max_attempts: int = 5, backoff: float = 0.2, full: bool = False, fetched: str | None = None,
            sleep: Callable[[float], None] = time.sleep) -> PublishResult:
    """Render the tip of `branch` and push the result; on a lost race fetch, re-render and retry. `fetched`
    is the branch tip the caller fetched a moment ago: the first attempt renders it without fetching again."""
    env = dict(git_env or {})
    with file_lock(f"{repo.git_dir}/pledge-publish.lock"):
        for attempt in range(1, max_attempts + 1):
            tip = fetched if attempt == 1 and fetched else fetch_branch(repo, remote, branch, env)
            if merged.merge_sha and not ancestry(repo)(merged.merge_sha, tip):
                if attempt == max_attempts:  # GitHub sends the event once the ref moved; be patient anyway
                    raise PublishError(f"{merged.merge_sha[:12]} is not on {branch} (tip {tip[:12]})")
                sleep(backoff * 2 ** (attempt - 1))
                continue
            rendering = render_on_branch(repo, tip, full=full)
            result = unchanged_result("up-to-date", branch, rendering, attempt)
            if not rendering.build.plan:
                return result
            commit = commit_files(repo, tip, rendering.build.plan, commit_message(merged, rendering), identity)
            outcome, detail = push(repo, remote, commit, f"refs/heads/{branch}", env)
            if outcome == "ok":
                result.status, result.commit = "pushed", commit
                return result
            if outcome == "protected":
                result.status, result.label = "render-pr", RENDER_LABEL
                result.render_branch = render_branch_name(merged, tip)
                result.commit = _pushed_before(repo, remote, result.render_branch, commit, env) or commit
                if result.commit != commit:
                    return result
                outcome, detail = push(repo, remote, commit, f"+refs/heads/{result.render_branch}", env)
                if outcome == "ok":
                    return result
            if outcome != "race":
                raise PublishError(f"git push to {branch} was refused: {detail}")
            if attempt < max_attempts:
                sleep(backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    raise PublishRace(f"{branch} moved under every one of {max_attempts} attempts; retry later")


def ancestry(repo: git.Repo) -> Callable[[str, str], bool]:
    """is_ancestor(render_sha, reported_sha) for bot.core.flux; False when either commit is unknown here."""
    return lambda render_sha, reported_sha: is_ancestor(repo, render_sha, reported_sha)


def render_on_branch(repo: git.Repo, rev: str, *, full: bool = False) -> Rendering:
    """Render commit `rev`: only what changed since the last render commit (see Scope), or all requests."""
    tip = repo.commit(rev).hexsha
    tree = GitTree(repo, tip)
    try:
        config = load_config(tree)
    except ConfigError as exc:
        raise PublishError(f"pledge.yaml at {tip[:12]} is broken: {exc}") from None
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    key = render_key(config, catalog)
    scope = None if full else _scope(repo, tip, key)
    prune = not misplaced(tree, config)  # judged on the whole tree: a moved request never prunes its output
    if scope is None:
        build, shown = render_incremental(GitTree(repo, tip), config, catalog, prune=prune), "full"
    else:
        build, shown = _render_scoped(tree, config, catalog, scope, prune), scope.describe()
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
    for path in output(repo, "diff", "--name-only", "-z", "--no-renames", anchor[0], tip).split("\0"):
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
    out = output(repo, "log", "-n", "20", "--format=%H%x00%P%x00%B%x1e", "--grep=^Pledge-Rendered-From: ", tip)
    for record in out.split("\x1e"):
        if record.strip():
            sha, parents, body = record.strip("\n").split("\0", 2)
            trailers = dict(re.findall(r"^(Pledge-Render(?:ed-From|-Key)): (\S+)$", body, re.M))
            if parents.split() == [trailers.get("Pledge-Rendered-From")]:
                names = output(repo, "diff", "--name-only", "-z", "--no-renames", parents, sha).split("\0")
                if all(owned(n) for n in names if n):
                    return sha, trailers.get("Pledge-Render-Key", "")
    return None


def _render_scoped(tree: GitTree, config: PlatformConfig, catalog: Catalog, scope: Scope, prune: bool) -> Build:
    """render_incremental shown only the Scope; the kustomizations that list folders or teams outside it
    (a team's, when only some of its requests are shown; an environment's) are recomputed from listings."""
    build = render_incremental(_ScopedTree(tree, scope), config, catalog, prune=prune)
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


class _ScopedTree:
    """What render_incremental is shown: the Scope's requests and the folders rendered from them."""

    def __init__(self, tree: GitTree, scope: Scope) -> None:
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


def _pushed_before(repo: git.Repo, remote: str, name: str, commit: str, env: Mapping[str, str]) -> str | None:
    """The render branch's commit when an earlier run already pushed this same render (same parent, same
    tree), so replaying a merge on a protected branch pushes nothing new."""
    proc = run(repo, ["fetch", "--no-tags", "--no-write-fetch-head", "--quiet", remote,
                       f"+refs/heads/{name}:refs/pledge/render/{name}"], env)
    if proc.returncode != 0:
        return None
    old = output(repo, "rev-parse", f"refs/pledge/render/{name}").strip()
    same = all(output(repo, "rev-parse", f"{old}{suffix}") == output(repo, "rev-parse", f"{commit}{suffix}")
               for suffix in ("^{tree}", "^1"))
    return old if same else None


