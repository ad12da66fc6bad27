"""Plan `pledge upgrade`: which requests move to which version, their new bytes, and why some cannot move.

`plan_upgrade(tree, ...)` is what the CLI (and the bot's upgrade pull requests) call: it writes nothing. A file
is upgraded only if the result validates (envelope, the new version's schema and policies); otherwise it is
refused and stays as it is, and the refusal (an error finding at the file's line) says why.
"""

from __future__ import annotations

import difflib
import posixpath
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.core import lifecycle
from bot.core.catalog import Catalog, Offering, load_catalog
from bot.core.migrate import MODELINE, Refused, migrate
from bot.core.migrations import Migration
from bot.core.platform import PlatformConfig, load_config
from bot.core.report import Finding, error
from bot.core.request import parse
from bot.core.tree import Tree
from bot.core.validate import judge, request_entries
from bot.core.yamlfile import Document, YamlProblem, load


@dataclass(frozen=True)
class FileUpgrade:
    """One request file moved (or to be moved) from one version to another."""

    path: str
    offering: str
    source: str  # apiVersion before
    target: str  # apiVersion after
    before: bytes
    after: bytes
    notes: tuple[str, ...] = ()
    engine: str = ""

    def diff(self) -> str:
        a = self.before.decode("utf-8", "replace").splitlines(keepends=True)
        b = self.after.decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(a, b, f"a/{self.path}", f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class UpgradePlan:
    """Every file that moves, every refusal (error findings), and how many requests were already current."""

    files: list[FileUpgrade] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    current: int = 0  # matching requests already on their target version
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> list[Finding]:
        return [f for f in self.findings if f.rule == "upgrade.refused"]


def target_version(catalog: Catalog, offering: Offering) -> str:
    """Where a version's requests should go: the end of its successor chain (itself when it has none)."""
    seen = {offering.api_version}
    current = offering
    while (successor := lifecycle.Lifecycle.of(current.meta).successor) and successor not in seen:
        nxt = catalog.find(successor, current.kind)
        if nxt is None:
            break
        seen.add(successor)
        current = nxt
    return current.version


def migration_chain(catalog: Catalog, offering: str, source: str, target: str) -> list[Migration] | None:
    """The shortest chain of migrations from `source` to `target` for `offering`, or None."""
    edges: dict[str, list[Migration]] = {}
    for (name, start, _), migration in sorted(catalog.migrations.items()):
        if name == offering:
            edges.setdefault(start, []).append(migration)
    queue: deque[tuple[str, list[Migration]]] = deque([(source, [])])
    seen = {source}
    while queue:
        version, path = queue.popleft()
        if version == target:
            return path
        for migration in edges.get(version, []):
            if migration.target not in seen:
                seen.add(migration.target)
                queue.append((migration.target, [*path, migration]))
    return None


def _offering_of(catalog: Catalog, api_version: str, kind: str) -> Offering | None:
    """The request's offering version; for a version the catalog no longer has, a sibling of the same kind."""
    found = catalog.find(api_version, kind)
    if found is not None:
        return found
    group = api_version.rsplit("/", 1)[0]
    return next((o for o in catalog.offerings.values() if o.kind == kind and o.group == group), None)


def plan_upgrade(tree: Tree, *, offering: str | None = None, to: str | None = None, env: str | None = None,
                 team: str | None = None, today: date | None = None, engine: str = "auto",
                 paths: Sequence[str] | None = None) -> UpgradePlan:
    """Upgrade matching requests (by offering, env, team, or `paths`) to `to` (a version such as v2), or each to
    the end of its version's successor chain. Raises ConfigError for a broken pledge.yaml."""
    config = load_config(tree)
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    plan = UpgradePlan(findings=list(catalog.findings))
    on = today or lifecycle.today()
    target_stem = to.rsplit("/", 1)[-1] if to else None
    for path, symlink in request_entries(tree, paths):
        parts = path.split("/")
        if symlink or len(parts) != 4 or (env and parts[1] != env) or (team and parts[2] != team):
            continue
        raw = tree.read(path)
        try:
            doc = load(raw or b"")
        except YamlProblem:
            continue  # `pledge validate` says what is wrong with it; nothing to upgrade
        api_version, kind = doc.data.get("apiVersion"), doc.data.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or "/" not in api_version:
            continue
        current = _offering_of(catalog, api_version, kind)
        if current is None or (offering and current.name != offering):
            continue
        source = api_version.rsplit("/", 1)[1]
        if target_stem is not None and catalog.find(f"{current.group}/{target_stem}", kind) is None:
            continue  # --to names a version this offering does not have
        target = target_stem or target_version(catalog, current)
        if target == source:
            plan.current += 1
            continue
        _upgrade_one(plan, catalog, config, path, (raw or b"", doc), current, source, target, on, engine)
    _schema_notes(plan, tree)
    return plan


def _upgrade_one(plan: UpgradePlan, catalog: Catalog, config: PlatformConfig, path: str, file: tuple[bytes, Document],
                 offering: Offering, source: str, target: str, on: date, engine: str) -> None:
    raw, doc = file
    def refuse(why: str, line: int = 1, col: int = 1) -> None:
        plan.findings.append(error(path, line, col, "upgrade.refused",
                                   f"not upgraded from {offering.group}/{source} to {offering.group}/{target}: {why}"))

    chain = migration_chain(catalog, offering.name, source, target)
    if chain is None:
        refuse(f"the catalog has no migration from {source} to {target} "
               f"(schemas/{offering.name}/migrations/{source}-to-{target}.yaml)")
        return
    result = migrate(raw, chain, group=offering.group, engine=engine, doc=doc)
    if isinstance(result, Refused):
        refuse(result.reason, result.line, result.column)
        return
    req, findings = parse(path, result.data, catalog, config, today=on, loaded=result.document)
    if req is not None:
        findings += judge(req, catalog, config)
    errors = [f for f in findings if f.severity == "error" and not f.rule.startswith("policy-approvable.")]
    if errors:
        first = errors[0]
        refuse(f"the upgraded request would fail {first.rule} at line {first.line}: {first.message}"
               + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
        return
    plan.files.append(FileUpgrade(path, offering.name, f"{offering.group}/{source}", f"{offering.group}/{target}",
                                  raw, result.data, result.notes, result.engine))


def _schema_notes(plan: UpgradePlan, tree: Tree) -> None:
    """Upgraded files point their editors at schemas that may not be published yet."""
    missing: set[str] = set()
    for upgrade in plan.files:
        for line in upgrade.after.decode("utf-8", "replace").splitlines()[:5]:
            match = MODELINE.match(line)
            if match and "://" not in match[2]:
                ref = posixpath.normpath(posixpath.join(posixpath.dirname(upgrade.path), match[2]))
                if not ref.startswith("..") and tree.read(ref) is None:
                    missing.add(ref)
    if missing:
        plan.notes.append(f"{', '.join(sorted(missing))} not published yet: run `pledge schemas --out "
                          f"{posixpath.dirname(sorted(missing)[0])}` so editors find the new schema")
