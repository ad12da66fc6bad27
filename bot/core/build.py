"""Render a whole repository: in full (for --check) or incrementally (only requests that changed)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.catalog import Catalog
from bot.core.layout import (
    Plan,
    current_files,
    diff_plan,
    index_files,
    owned,
    read_header,
    request_files,
    source_digest,
)
from bot.core.paths import ENVIRONMENTS
from bot.core.platform import PlatformConfig
from bot.core.render import render_request
from bot.core.report import Finding, Report, error
from bot.core.request import Request, place
from bot.core.tree import Tree
from bot.core.validate import judge_rendered, load_requests, request_entries


@dataclass
class Build:
    """The outcome of rendering: the plan of writes and deletes, findings, and what was rendered."""

    plan: Plan = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # request paths rendered this time
    kept: int = 0  # requests whose folder was already up to date


def render_requests(requests: list[Request], config: PlatformConfig, catalog: Catalog,
                    build: Build) -> dict[str, bytes]:
    """Render each request; a request with an error renders nothing (its findings say why)."""
    files: dict[str, bytes] = {}
    for req in requests:
        rendered, problems = render_request(req, config)
        if not problems:
            problems = judge_rendered(rendered, catalog, config)
        build.findings.extend(problems)
        if any(p.severity == "error" for p in problems):
            continue
        digest = source_digest(req.raw, catalog.digest, config)
        files.update(request_files(rendered, digest))
        build.rendered.append(req.path)
    return files


def misplaced(tree: Tree, config: PlatformConfig) -> list[str]:
    """Request files of the whole tree whose path alone is wrong (outside requests/<env>/<team>/<name>.yaml,
    not .yaml, an environment or team pledge.yaml does not know): cheap, from the listing only."""
    out: list[str] = []
    for path, _symlink in request_entries(tree):
        where = place(path)
        if isinstance(where, Finding) or config.env(where[0]) is None or not config.knows_team(where[1]):
            out.append(path)
    return out


def _blocks_pruning(findings: list[Finding]) -> bool:
    """A request with an error may be one that moved or broke: its old output did not cleanly disappear."""
    return any(f.severity == "error" and f.path.startswith("requests/") for f in findings)


def _in_env(path: str, env: str | None) -> bool:
    return env is None or path.split("/")[1:2] == [env]


def render_full(tree: Tree, config: PlatformConfig, catalog: Catalog, *, env: str | None = None) -> Build:
    """Render every request from scratch and diff against what is committed."""
    build = Build(findings=list(catalog.findings))
    entries = [e for e in request_entries(tree) if _in_env(e[0], env)]
    requests, findings = load_requests(tree, catalog, config, entries)
    build.findings.extend(findings)
    wanted = render_requests(requests, config, catalog, build)
    current = {p: b for p, b in current_files(tree).items() if _in_env(p, env)}
    if _blocks_pruning(build.findings):  # what exists stays: a bad tree never prunes
        rendered = {p.rsplit("/", 1)[0] for p in wanted}
        wanted = {**{p: b for p, b in current.items() if p.count("/") >= 4 and p.rsplit("/", 1)[0] not in rendered
                     and p.startswith(ENVIRONMENTS + "/")}, **wanted}
    folders = {p.rsplit("/", 1)[0] for p in wanted}
    wanted.update(index_files(folders, config))
    wanted = {p: b for p, b in wanted.items() if _in_env(p, env)}
    build.plan = diff_plan(current, wanted)
    return build


def rendered_folders(tree: Tree, team_dirs: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """source request path -> (rendered folder, digest), read from each folder's kustomization header.

    Walks environments/<env>/<team>/ (or only `team_dirs`) folder by folder and reads each request folder's
    kustomization.yaml directly: no recursive listing of the thousands of files below.
    """
    out: dict[str, tuple[str, str]] = {}
    for team_dir in team_dirs if team_dirs is not None else team_folders(tree):
        for name in tree.dirs(team_dir):
            folder = f"{team_dir}/{name}"
            header = read_header(tree.read(f"{folder}/kustomization.yaml"))
            if header:
                out[header[0]] = (folder, header[1])
    return out


def team_folders(tree: Tree) -> list[str]:
    """environments/<env>/<team> for every team folder there is."""
    return [f"{ENVIRONMENTS}/{env}/{team}" for env in tree.dirs(ENVIRONMENTS)
            for team in tree.dirs(f"{ENVIRONMENTS}/{env}")]


def render_incremental(tree: Tree, config: PlatformConfig, catalog: Catalog, *,
                       env: str | None = None, prune: bool | None = None) -> Build:
    """Re-render only requests whose digest changed; remove folders whose request is gone, unless the tree is
    bad: `prune=False` (the caller saw a misplaced request), a misplaced request in `tree` (when `prune` is None)
    or a request with an error among those loaded keeps every folder whose request is not there."""
    build = Build(findings=list(catalog.findings))
    entries = [e for e in request_entries(tree) if _in_env(e[0], env)]
    teams = team_folders(tree)
    existing = {src: v for src, v in rendered_folders(tree, teams).items() if _in_env(v[0], env)}
    stale: list[tuple[str, bool]] = []
    for path, symlink in entries:
        raw = None if symlink else tree.read(path)
        known = existing.get(path)
        if raw is not None and known and known[1] == source_digest(raw, catalog.digest, config):
            build.kept += 1
        else:
            stale.append((path, symlink))
    requests, findings = load_requests(tree, catalog, config, stale)
    build.findings.extend(findings)
    wanted = render_requests(requests, config, catalog, build)
    hold = not prune if prune is not None else bool(misplaced(tree, config))
    hold = hold or _blocks_pruning(build.findings)
    new_folders = {p.rsplit("/", 1)[0] for p in wanted}
    present = {p for p, _ in entries}
    failed = {p for p, _ in stale} - set(build.rendered)
    removed: set[str] = set()
    for src, (folder, _digest) in existing.items():
        if (src not in present and not hold) or (src in build.rendered and folder not in new_folders):
            removed.add(folder)
    keep = {folder for src, (folder, _d) in existing.items()
            if (src in present or hold) and src not in build.rendered}
    keep |= {existing[src][0] for src in failed if src in existing}  # a broken request keeps its last render
    folders = (keep | new_folders) - removed
    for folder in sorted(new_folders | removed):
        for entry in tree.files(folder):
            if entry.path not in wanted and owned(entry.path):
                build.plan[entry.path] = None
    index = {p: b for p, b in index_files(folders, config).items() if _in_env(p, env)}
    for path, data in {**wanted, **index}.items():
        if tree.read(path) != data:
            build.plan[path] = data
    stale_index = [p for p in current_index(tree, teams) if _in_env(p, env) and p not in index]
    build.plan.update({p: None for p in stale_index})
    return build


def current_index(tree: Tree, teams: list[str]) -> list[str]:
    """Environment- and team-level kustomization.yaml files that exist now."""
    envs = [f"{ENVIRONMENTS}/{env}" for env in tree.dirs(ENVIRONMENTS)]
    paths = [f"{folder}/kustomization.yaml" for folder in [*envs, *teams]]
    return [p for p in paths if tree.read(p) is not None]


def check_report(build: Build, tree: Tree) -> Report:
    """`render --check`: every difference between the committed tree and the requests is an error."""
    report = Report(findings=list(build.findings))
    for path, data in sorted(build.plan.items()):
        if data is None:
            what = "is not rendered from any request: delete it"
        elif tree.read(path) is None:
            what = "is missing"
        else:
            what = "differs from what the requests render to (a hand edit or a stale render)"
        report.findings.append(error(path, 1, 1, "render.drift",
                                     f"{what}; run `pledge render` and commit the result"))
    report.judged = list(build.rendered)
    report.notes.append(f"{len(build.rendered)} request(s) rendered; {len(build.plan)} file(s) differ from the "
                        "committed environments/ and clusters/")
    return report
