"""The offering catalog: schemas, policies and renderers, bundled and from the platform repository."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from bot.core import jsonschema_linear, lifecycle, migrations, policy
from bot.core.paths import CATALOG_DIRS
from bot.core.report import Finding, error
from bot.core.tree import DirTree, Tree
from bot.core.yamlfile import YamlProblem, load

DEFAULT_GROUP = "pledge.dev"
LIFECYCLES = lifecycle.STATES
REQUEST_POLICIES = "policies/_requests"
RENDERED_POLICIES = "policies/_rendered"

_XPLEDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "renders"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9]*$"},
        "group": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "owners": {"type": "array", "items": {"type": "string"}},
        "lifecycle": {"enum": list(LIFECYCLES)},
        "successor": {"type": "string", "pattern": "^[^/\\s]+/[^/\\s]+$"},  # an apiVersion: <group>/<version>
        "sunset": {"type": "string", "format": "date"},  # YYYY-MM-DD: the last day new requests are accepted
        "environments": {"type": "array", "items": {"type": "string"}},
        "renders": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "namespaced": {"type": "boolean"},
        # at most N requests of this offering per team, by environment ("*": any other environment)
        "quota": {"type": "object", "additionalProperties": False, "properties": {
            "perTeam": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}}},
    },
}
_XPLEDGE = jsonschema.Draft202012Validator(_XPLEDGE_SCHEMA, format_checker=jsonschema.FormatChecker())


def bundled_root() -> Path:
    """Where the bundled catalog is: inside the wheel, or the source checkout's root."""
    package = Path(__file__).resolve().parents[1]  # bot/
    packaged = package / "_catalog"
    return packaged if packaged.is_dir() else package.parent


@dataclass
class Offering:
    """One version of one offering: its API (spec schema), policies and renderer templates."""

    name: str
    version: str
    kind: str
    group: str
    meta: dict[str, Any]
    schema: dict[str, Any]
    schema_path: str
    validator: jsonschema.protocols.Validator
    templates: dict[str, str]  # path -> template source
    policies: list[policy.Policy] = field(default_factory=list)
    compiled: dict[str, Any] = field(default_factory=dict, repr=False)  # filled by bot.core.render
    marks: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)  # x-pledge key -> (line, col)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def lifecycle(self) -> str:
        return str(self.meta.get("lifecycle", "stable"))

    @property
    def renders(self) -> set[str]:
        return set(self.meta["renders"])

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.kind))


@dataclass
class Catalog:
    """Every offering version, by (apiVersion, kind); plus repository-wide policies and load errors."""

    offerings: dict[tuple[str, str], Offering] = field(default_factory=dict)
    request_policies: list[policy.Policy] = field(default_factory=list)
    rendered_policies: list[policy.Policy] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    digest: str = ""
    # (offering name, from version, to version) -> the declarative migration between them
    migrations: dict[tuple[str, str, str], migrations.Migration] = field(default_factory=dict)

    def find(self, api_version: str, kind: str) -> Offering | None:
        return self.offerings.get((api_version, kind))

    def versions_of(self, kind: str) -> list[str]:
        return sorted(o.api_version for (_, k), o in self.offerings.items() if k == kind)

    def kinds(self) -> list[str]:
        return sorted({k for (_, k) in self.offerings})


class _Overlay:
    """The bundled catalog with the repository's files laid over it, file by file."""

    def __init__(self, layers: list[tuple[Tree, str]]) -> None:
        self.files: dict[str, tuple[Tree, str]] = {}  # path -> (tree, shown path)
        renderer_owner: dict[str, int] = {}
        for index, (tree, shown_prefix) in enumerate(layers):
            for entry in (e for d in CATALOG_DIRS for e in tree.files(d)):
                parts = entry.path.split("/")
                if parts[0] == "renderers" and len(parts) >= 4:
                    folder = "/".join(parts[:3])
                    if renderer_owner.setdefault(folder, index) != index:
                        # a repository renderer folder replaces the bundled one whole
                        self.files = {p: v for p, v in self.files.items() if not p.startswith(folder + "/")}
                        renderer_owner[folder] = index
                self.files[entry.path] = (tree, shown_prefix + entry.path)

    def read(self, path: str) -> tuple[bytes, str]:
        tree, shown = self.files[path]
        return tree.read(path) or b"", shown

    def under(self, prefix: str) -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix + "/"))


def load_catalog(tree: Tree | None, *, bundled: bool = True) -> Catalog:
    """Load the catalog: the bundled one (unless turned off) overlaid by `tree`'s own folders."""
    layers: list[tuple[Tree, str]] = []
    if bundled:
        layers.append((DirTree(bundled_root()), "<bundled>/"))
    if tree is not None:
        layers.append((tree, ""))
    overlay = _Overlay(layers)
    catalog = Catalog()
    digest = hashlib.sha256()
    for path in sorted(overlay.files):
        data, shown = overlay.read(path)
        digest.update(shown.encode() + b"\0" + hashlib.sha256(data).digest())
    catalog.digest = digest.hexdigest()

    policies_by_dir: dict[str, list[policy.Policy]] = {}
    for path in overlay.under("policies"):
        if not path.endswith((".yaml", ".yml")):
            continue
        data, shown = overlay.read(path)
        try:
            loaded = policy.load_policies(data, shown)
        except policy.PolicyLoadError as exc:
            catalog.findings.append(error(shown, exc.line, exc.column, "catalog.policy", exc.message))
            continue
        policies_by_dir.setdefault(path.rsplit("/", 1)[0], []).extend(loaded)
    catalog.request_policies = policies_by_dir.pop(REQUEST_POLICIES, [])
    catalog.rendered_policies = policies_by_dir.pop(RENDERED_POLICIES, [])

    for path in overlay.under("schemas"):
        parts = path.split("/")
        if len(parts) == 4 and parts[2] == "migrations":
            _load_migration(parts[1], parts[3], *overlay.read(path), catalog)
            continue
        if len(parts) != 3 or not path.endswith(".yaml"):
            continue
        data, shown = overlay.read(path)
        offering = _load_offering(parts[1], parts[2][: -len(".yaml")], data, shown, overlay, catalog.findings)
        if offering is None:
            continue
        offering.policies = policies_by_dir.get(f"policies/{offering.name}", [])
        key = (offering.api_version, offering.kind)
        if key in catalog.offerings:
            other = catalog.offerings[key].schema_path
            catalog.findings.append(error(shown, 1, 1, "catalog.duplicate",
                                          f"{offering.kind} {offering.api_version} is also defined by {other}"))
            continue
        catalog.offerings[key] = offering
    catalog.findings.extend(lifecycle.catalog_findings(catalog.offerings.values()))
    versions = {(o.name, o.version) for o in catalog.offerings.values()}
    for (name, _, _), migration in sorted(catalog.migrations.items()):
        if (name, migration.target) not in versions:
            catalog.findings.append(error(migration.path, 1, 1, "catalog.migration",
                                          f"the migration leads to {name} {migration.target}, which the catalog "
                                          "does not have"))
    return catalog


def _load_migration(name: str, file_name: str, data: bytes, shown: str, catalog: Catalog) -> None:
    migration = migrations.load_migration(name, file_name, data, shown, catalog.findings)
    if migration is not None:
        catalog.migrations[(name, migration.source, migration.target)] = migration


def _load_offering(name: str, version: str, data: bytes, shown: str, overlay: _Overlay,
                   findings: list[Finding]) -> Offering | None:
    try:
        doc = load(data)
    except YamlProblem as exc:
        findings.append(error(shown, exc.line, exc.column, "catalog.schema", exc.message))
        return None
    schema = dict(doc.data)
    meta = schema.pop("x-pledge", None)
    problems = list(_XPLEDGE.iter_errors(meta)) if isinstance(meta, dict) else []
    if not isinstance(meta, dict) or problems:
        line, col = doc.mark(("x-pledge", *(problems[0].absolute_path if problems else ())))
        why = problems[0].message if problems else "an `x-pledge:` block (kind, renders, ...) is required"
        findings.append(error(shown, line, col, "catalog.schema", f"x-pledge: {why}"))
        return None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        line, col = doc.mark(tuple(exc.absolute_path))
        findings.append(error(shown, line, col, "catalog.schema", f"not a valid JSON Schema: {exc.message}"))
        return None
    templates = {}
    folder = f"renderers/{name}/{version}"
    for path in overlay.under(folder):
        if path.endswith(".j2"):
            raw, tshown = overlay.read(path)
            templates[tshown] = raw.decode("utf-8", errors="replace")
    if not templates:
        findings.append(error(shown, 1, 1, "catalog.renderer",
                              f"no renderer: add templates under {folder}/ (*.yaml.j2)"))
        return None
    return Offering(
        name=name,
        version=version,
        kind=meta["kind"],
        group=meta.get("group", DEFAULT_GROUP),
        meta=meta,
        schema=schema,
        schema_path=shown,
        validator=jsonschema_linear.validator(schema),
        templates=templates,
        marks={k: doc.mark(("x-pledge", k)) for k in meta},
    )
