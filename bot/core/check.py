"""The pull-request check: judge changed requests by the base branch's rules and preview the rendered change."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import quota
from bot.core.build import Build, render_requests, rendered_folders
from bot.core.catalog import Catalog, load_catalog
from bot.core.layout import owned
from bot.core.paths import (
    CONFIG_PATH,
    ENVIRONMENTS,
    REQUESTS,
    is_catalog,
    is_generated,
    is_ignored,
    is_request,
)
from bot.core.platform import ConfigError, PlatformConfig, load_config
from bot.core.report import EnvPreview, FileChange, Finding, Report, error, warning
from bot.core.request import Request
from bot.core.tree import Change, Tree
from bot.core.validate import duplicates, load_requests

MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class BaseRules:
    """pledge.yaml and the catalog of the base branch, read once per check and shared by every step of it."""

    config: PlatformConfig | None
    catalog: Catalog | None
    problem: ConfigError | None = None  # pledge.yaml is missing or broken
    source: str | None = None  # pledge.yaml's text (None: the base branch has none)


def base_rules(base: Tree) -> BaseRules:
    raw = base.read(CONFIG_PATH)
    source = raw.decode("utf-8", "replace") if raw is not None else None
    try:
        config = load_config(base)
    except ConfigError as exc:
        return BaseRules(None, None, exc, source)
    return BaseRules(config, load_catalog(base, bundled=config.bundled_catalog), None, source)


def check(base: Tree, head: Tree, changed: Sequence[Change], rules: BaseRules | None = None) -> Report:
    """What Pledge says about a pull request: catalog and pledge.yaml come from `base`, never `head`
    (`rules`, when the caller read them already)."""
    report = Report()
    paths = [c.path for c in changed]
    rules = rules or base_rules(base)
    config, catalog, exc = rules.config, rules.catalog, rules.problem
    if config is None or catalog is None:
        assert exc is not None
        if CONFIG_PATH in paths and rules.source is None:
            report.findings.append(warning(CONFIG_PATH, 1, 1, "config.bootstrap",
                                           "Pledge is not set up on the base branch yet; this pull request "
                                           "adds pledge.yaml, so requests are judged once it is merged"))
            report.extend(_head_rules(head, paths))
            # no rules on the base branch judge these: they must wait for a pull request of their own
            report.extend(error(p, 1, 1, "config.bootstrap-request",
                                "pledge.yaml is not on the base branch yet: merge it first, then add requests "
                                "in a pull request of their own") for p in paths
                          if is_request(p))
            return report
        report.findings.append(error(exc.path, exc.line, exc.column, "config.invalid",
                                     f"pledge.yaml on the base branch is broken: {exc.message}"))
        return report
    report.extend(catalog.findings)
    report.extend(_head_rules(head, paths))
    for change in changed:
        if is_generated(change.path) and owned(change.path):
            report.findings.append(error(change.path, 1, 1, "repo.generated-edit",
                                         f"{change.path.split('/')[0]}/ is written only by Pledge; revert this "
                                         "change and edit the request under requests/ instead"))
    request_changes = [c for c in changed if is_request(c.path)]
    judged = [c for c in request_changes if c.status != "D"]
    symlinks = {e.path for e in head.files(REQUESTS) if e.is_symlink}
    requests, findings = load_requests(head, catalog, config, [(c.path, c.path in symlinks) for c in judged])
    report.extend(findings)
    added = {c.path for c in judged if base.read(c.path) is None}
    report.extend(_cross_file(head, catalog, config, requests, added))
    build = Build()
    new_files = render_requests(requests, config, catalog, build)
    report.extend(build.findings)
    report.judged = [c.path for c in request_changes]
    failed = {c.path for c in judged} - set(build.rendered)
    report.preview = _preview(base, new_files, [c.path for c in request_changes], failed)
    return report


def _head_rules(head: Tree, paths: Sequence[str]) -> list[Finding]:
    """A PR that edits the catalog or pledge.yaml: report what would break once it is merged."""
    out: list[Finding] = []
    catalog_changed = any(is_catalog(p) for p in paths)
    if CONFIG_PATH not in paths and not catalog_changed:
        return out
    bundled = True
    try:
        bundled = load_config(head).bundled_catalog
    except ConfigError as exc:
        if CONFIG_PATH in paths:
            out.append(error(exc.path, exc.line, exc.column, "config.invalid", exc.message))
    if catalog_changed:
        head_catalog = load_catalog(head, bundled=bundled)
        out.extend(f for f in head_catalog.findings if not f.path.startswith("<bundled>"))
    return out


def _cross_file(head: Tree, catalog: Catalog, config: PlatformConfig, changed: list[Request],
                added: set[str]) -> list[Finding]:
    """Duplicates between a changed request and the other requests of the same team and environment, and
    per-team quotas that an added request would exceed."""
    if not changed:
        return []
    folders = {"/".join(r.path.split("/")[:3]) for r in changed}
    others = [(e.path, e.is_symlink) for f in sorted(folders) for e in head.files(f)
              if not is_ignored(e.path) and e.path not in {r.path for r in changed}]
    neighbours, _ = load_requests(head, catalog, config, others)
    mine = {r.path for r in changed}
    return ([f for f in duplicates([*changed, *neighbours]) if f.path in mine]
            + quota.over_quota([*changed, *neighbours], added))


def _preview(base: Tree, new_files: dict[str, bytes], request_paths: list[str],
             failed: set[str]) -> list[EnvPreview]:
    """Per environment: rendered files added, changed and removed by the changed requests."""
    old_folders = rendered_folders_for(base, request_paths)
    old: dict[str, bytes] = {}
    for folder in old_folders.values():
        for entry in base.files(folder):
            old[entry.path] = base.read(entry.path) or b""
    new = {p: b for p, b in new_files.items() if not p.endswith("/kustomization.yaml")}
    old = {p: b for p, b in old.items() if not p.endswith("/kustomization.yaml")}
    # a request that failed to render previews nothing: its old files are neither kept nor removed
    for path, folder in old_folders.items():
        if path in failed:
            old = {p: b for p, b in old.items() if not p.startswith(folder + "/")}
    by_env: dict[str, list[FileChange]] = {}
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        by_env.setdefault(path.split("/")[1], []).append(FileChange(path, status, _diff(path, before, after)))
    return [EnvPreview(env, tuple(changes)) for env, changes in sorted(by_env.items())]


def rendered_folders_for(tree: Tree, request_paths: list[str]) -> dict[str, str]:
    """request path -> its rendered folder in `tree`, for the given requests."""
    wanted = set(request_paths)
    teams = {"/".join([ENVIRONMENTS, *p.split("/")[1:3]]) for p in request_paths if p.count("/") == 3}
    found = rendered_folders(tree, sorted(teams))  # only those teams' folders are read
    return {src: folder for src, (folder, _digest) in found.items() if src in wanted}


def _diff(path: str, before: bytes | None, after: bytes | None) -> str:
    a = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, "/dev/null" if before is None else f"a/{path}",
                                      "/dev/null" if after is None else f"b/{path}"))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
