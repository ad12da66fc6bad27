"""Inventory of a platform repository: every request's offering, version, lifecycle state, place, age and history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.core import lifecycle
from bot.core.catalog import Catalog, Offering, load_catalog
from bot.core.platform import load_config
from bot.core.tree import Tree
from bot.core.validate import request_entries
from bot.core.yamlfile import YamlProblem, load


@dataclass(frozen=True)
class FileHistory:
    """When a path first appeared in the repository's history and when a commit last touched it."""

    created: datetime
    changed: datetime


@dataclass(frozen=True)
class Row:
    """One request file."""

    path: str
    env: str
    team: str
    name: str
    kind: str
    offering: str  # "" when the kind is unknown
    api_version: str
    lifecycle: str  # alpha | beta | stable | deprecated | sunset | retired | unknown (version) | invalid (file)
    successor: str | None
    sunset: date | None
    labels: dict[str, str]
    created: datetime | None = None
    changed: datetime | None = None

    def age_days(self, today: date) -> int | None:
        return (today - self.created.date()).days if self.created else None

    def to_json(self, today: date) -> dict[str, Any]:
        return {"path": self.path, "env": self.env, "team": self.team, "name": self.name, "kind": self.kind,
                "offering": self.offering, "apiVersion": self.api_version, "lifecycle": self.lifecycle,
                "successor": self.successor, "sunset": self.sunset.isoformat() if self.sunset else None,
                "labels": dict(self.labels),
                "created": self.created.date().isoformat() if self.created else None,
                "lastChange": self.changed.date().isoformat() if self.changed else None,
                "ageDays": self.age_days(today)}


@dataclass(frozen=True)
class VersionCount:
    """How many requests one offering version has, with its lifecycle."""

    offering: str
    api_version: str
    kind: str
    lifecycle: str
    successor: str | None
    sunset: date | None
    requests: int


@dataclass
class Inventory:
    today: date
    rows: list[Row] = field(default_factory=list)
    counts: list[VersionCount] = field(default_factory=list)
    history: bool = False  # whether ages come from git history


def _row(path: str, raw: bytes | None, catalog: Catalog, on: date) -> Row:
    parts = path.split("/")
    env, team = (parts[1], parts[2]) if len(parts) == 4 else ("", "")
    stem = parts[-1].rsplit(".", 1)[0]
    try:
        data = load(raw or b"").data
    except YamlProblem:
        return Row(path, env, team, stem, "", "", "", "invalid", None, None, {})
    meta = data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    labels = meta.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    api_version, kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
    offering: Offering | None = catalog.find(api_version, kind)
    sibling = offering or next((o for o in catalog.offerings.values() if o.kind == kind), None)
    life = lifecycle.Lifecycle.of(offering.meta) if offering else None
    return Row(path, env, team, str(meta.get("name", stem)), kind, sibling.name if sibling else "", api_version,
               life.status(on) if life else "unknown", life.successor if life else None,
               life.sunset if life else None, {str(k): str(v) for k, v in labels.items()})


def inventory(tree: Tree, *, history: Mapping[str, FileHistory] | None = None,
              today: date | None = None) -> Inventory:
    """Every request under requests/ (valid or not), and the number of requests per offering version (every
    version of the catalog, those without requests too). Raises ConfigError for a broken pledge.yaml."""
    on = today or lifecycle.today()
    config = load_config(tree)
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    out = Inventory(on, history=history is not None)
    for path, symlink in request_entries(tree):
        row = _row(path, None if symlink else tree.read(path), catalog, on)
        seen = (history or {}).get(path)
        if seen is not None:
            row = Row(**{**row.__dict__, "created": seen.created, "changed": seen.changed})
        out.rows.append(row)
    per_version: dict[tuple[str, str], int] = {}
    for row in out.rows:
        per_version[(row.api_version, row.kind)] = per_version.get((row.api_version, row.kind), 0) + 1
    for (api_version, kind), o in sorted(catalog.offerings.items(), key=lambda kv: (kv[1].name, kv[1].version)):
        life = lifecycle.Lifecycle.of(o.meta)
        out.counts.append(VersionCount(o.name, api_version, kind, life.status(on), life.successor, life.sunset,
                                       per_version.pop((api_version, kind), 0)))
    for (api_version, kind), n in sorted(per_version.items()):  # versions the catalog does not know
        out.counts.append(VersionCount("", api_version, kind, "unknown", None, None, n))
    return out
