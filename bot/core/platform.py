"""The platform repository's pledge.yaml: environments, teams, catalog switches and approval rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from bot.core import jsonschema_linear
from bot.core.paths import CONFIG_PATH
from bot.core.tree import Tree
from bot.core.yamlfile import YamlProblem, load

# A team owns `<team>` and `<team>-*` namespaces: these names would hand it the cluster's own.
# (Namespaces named `default`, `kube-*` or `*-system` are never a team's: see bot.core.request.in_team_namespaces.)
RESERVED_TEAMS = frozenset({"default", "kube", "flux", "pledge"})
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# Namespaces no team may be named after or render into (shell patterns). The cluster's and Pledge's own are
# always reserved; the platform's add-ons are reserved by default and `reservedNamespaces:` replaces them.
ALWAYS_RESERVED = ("default", "kube", "kube-*", "*-system", "flux", "flux-*", "pledge", "pledge-*")
DEFAULT_RESERVED = (
    "cert-manager", "monitoring", "ingress-nginx", "ingress", "openshift", "openshift-*", "istio-*", "kyverno",
    "gatekeeper", "argocd", "argo-*", "cattle-*", "calico-*", "tigera-operator", "linkerd", "linkerd-*",
    "metallb", "external-secrets", "vault", "velero", "local-path-storage", "cnpg", "crossplane", "arc-*",
    "actions-runner-controller", "prometheus", "grafana", "loki", "logging",
)

# Where Flux's notification-controller sends events (a generic-hmac Provider per environment).
FEEDBACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url", "secretName"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "pattern": r"^https?://\S+$", "maxLength": 2048},
        "secretName": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?$"},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["apiVersion", "kind", "environments"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "pledge.dev/v1"},
        "kind": {"const": "Platform"},
        "repository": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "minLength": 1},
                "branch": {"type": "string", "minLength": 1},
            },
        },
        "environments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": DNS_LABEL},
                    "description": {"type": "string"},
                    "interval": {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"},
                    "values": {"type": "object"},
                },
            },
        },
        "teams": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": DNS_LABEL},
                    "group": {"type": "string"},
                    "github": {"type": "string"},
                    "costCentre": {"type": "string"},
                },
            },
        },
        "teamPattern": {"type": "string", "format": "regex"},
        "reservedNamespaces": {"type": "array", "maxItems": 1000,
                               "items": {"type": "string", "pattern": r"^[a-z0-9*][-a-z0-9*]{0,62}$"}},
        "catalog": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"bundled": {"type": "boolean"}},
        },
        "approvals": {"type": "array", "items": {"type": "object"}},
        "feedback": FEEDBACK_SCHEMA,
    },
}
_VALIDATOR = jsonschema_linear.validator(SCHEMA)


class ConfigError(Exception):
    """pledge.yaml is missing or invalid: a configuration error (CLI exit 2)."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


@dataclass(frozen=True)
class Environment:
    name: str
    interval: str = "10m"
    values: dict[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return {"name": self.name, "interval": self.interval, "values": self.values}


@dataclass(frozen=True)
class PlatformConfig:
    """pledge.yaml, checked; `data` is the raw mapping (policies see it as $config)."""

    environments: tuple[Environment, ...]
    teams: dict[str, dict[str, Any]]
    team_pattern: str | None
    repository_url: str
    branch: str
    bundled_catalog: bool
    data: dict[str, Any]
    source: bytes = b""
    feedback: dict[str, str] | None = None
    reserved: tuple[str, ...] = ALWAYS_RESERVED + DEFAULT_RESERVED

    def env(self, name: str) -> Environment | None:
        return next((e for e in self.environments if e.name == name), None)

    @property
    def env_names(self) -> list[str]:
        return [e.name for e in self.environments]

    def knows_team(self, team: str) -> bool:
        if team in self.teams:
            return True
        if team in RESERVED_TEAMS or any(team.startswith(r + "-") for r in RESERVED_TEAMS):
            return False  # a pattern never admits a team that would own kube-system or flux-system
        if self.is_reserved(team):
            return False  # nor one named after a platform namespace (cert-manager, monitoring, …)
        return bool(self.team_pattern) and re.fullmatch(self.team_pattern or "", team) is not None

    def is_reserved(self, namespace: str) -> bool:
        """A platform namespace: no team is named after it or renders into it."""
        return any(fnmatchcase(namespace, p) for p in self.reserved)

    def owns(self, team: str, namespace: str) -> bool:
        """`team` owns `namespace`: its own name or `<team>-*`, not a reserved one, and no longer team name
        is a prefix of it (`payments-eu-x` is team payments-eu's when pledge.yaml lists or admits that team)."""
        if self.is_reserved(namespace) or not (namespace == team or namespace.startswith(team + "-")):
            return False
        parts = namespace.split("-")
        for end in range(len(parts), 0, -1):
            prefix = "-".join(parts[:end])
            if len(prefix) <= len(team):
                break
            if self.knows_team(prefix):
                return False
        return True


def load_config(tree: Tree, path: str = CONFIG_PATH) -> PlatformConfig:
    """Read and check pledge.yaml from a tree; raise ConfigError with a line for anything wrong."""
    raw = tree.read(path)
    if raw is None:
        raise ConfigError(path, 1, 1, "pledge.yaml is missing at the repository root; see README 'pledge.yaml'")
    return parse_config(raw, path)


def parse_config(raw: bytes, path: str = CONFIG_PATH) -> PlatformConfig:
    try:
        doc = load(raw)
    except YamlProblem as exc:
        raise ConfigError(path, exc.line, exc.column, exc.message) from None
    errors = sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        err = errors[0]
        line, col = doc.mark(tuple(err.absolute_path))
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(path, line, col, f"{where}: {err.message}")
    data = doc.data
    envs: list[Environment] = []
    for i, e in enumerate(data["environments"]):
        if any(x.name == e["name"] for x in envs):
            line, col = doc.mark(("environments", i, "name"))
            raise ConfigError(path, line, col, f"environment {e['name']!r} is listed twice")
        envs.append(Environment(e["name"], e.get("interval", "10m"), dict(e.get("values", {}))))
    teams = {t["name"]: dict(t) for t in data.get("teams", [])}
    for i, t in enumerate(data.get("teams", [])):
        line, col = doc.mark(("teams", i, "name"))
        clash = next((o for o in teams if o != t["name"] and t["name"].startswith(o + "-")), None)
        if t["name"] in RESERVED_TEAMS or any(t["name"].startswith(r + "-") for r in RESERVED_TEAMS):
            raise ConfigError(path, line, col, f"team {t['name']!r} would own the cluster's system namespaces "
                              f"(reserved: {', '.join(sorted(RESERVED_TEAMS))}); choose another name")
        if clash:
            raise ConfigError(path, line, col, f"team {t['name']!r} starts with team {clash!r} and '-': {clash} owns "
                              f"every {clash}-* namespace, so {t['name']}'s would be {clash}'s too; rename one")
    reserved = ALWAYS_RESERVED + tuple(data.get("reservedNamespaces", DEFAULT_RESERVED))
    for i, t in enumerate(data.get("teams", [])):
        hit = next((p for p in reserved if fnmatchcase(t["name"], p)), None)
        if hit:
            line, col = doc.mark(("teams", i, "name"))
            raise ConfigError(path, line, col, f"team {t['name']!r} is a reserved platform namespace ({hit!r}); "
                              "choose another name, or change reservedNamespaces in pledge.yaml")
    if not teams and not data.get("teamPattern"):
        raise ConfigError(path, 1, 1, "list the teams under `teams:` or give a `teamPattern:` regex")
    repo = data.get("repository", {})
    return PlatformConfig(
        environments=tuple(envs),
        teams=teams,
        team_pattern=data.get("teamPattern"),
        repository_url=repo.get("url", "https://github.com/example/platform"),
        branch=repo.get("branch", "main"),
        bundled_catalog=data.get("catalog", {}).get("bundled", True),
        data=data,
        source=raw,
        feedback=data.get("feedback"),
        reserved=reserved,
    )
