"""A request file: where it may live, its envelope, and its offering's schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import jsonschema

from bot.core import lifecycle
from bot.core.catalog import Catalog, Offering
from bot.core.paths import REQUESTS
from bot.core.platform import PlatformConfig
from bot.core.report import Finding, error
from bot.core.yamlfile import Document, YamlProblem, load

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec")
_METADATA_KEYS = ("name", "team", "labels", "annotations")


@dataclass
class Request:
    """A parsed request whose envelope, identity and offering are known."""

    path: str
    env: str
    team: str
    name: str
    offering: Offering
    doc: Document
    raw: bytes

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data

    @property
    def spec(self) -> dict[str, Any]:
        return self.data.get("spec") or {}

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.env, self.team, self.offering.kind, self.name)

    @property
    def folder(self) -> str:
        return f"environments/{self.env}/{self.team}/{self.offering.name}-{self.name}"


def in_team_namespaces(team: str, namespace: str, config: PlatformConfig) -> bool:
    """A team owns the namespace named after it and every `<team>-*` namespace, except the platform's own
    (`default`, `kube-*`, `*-system`, pledge.yaml's reservedNamespaces) and those of a team with a longer
    name (`payments-eu` when that is a team): see PlatformConfig.owns."""
    return config.owns(team, namespace)


def place(path: str) -> tuple[str, str, str] | Finding:
    """(env, team, name) from `requests/<env>/<team>/<name>.yaml`, or a finding saying where it must go."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != REQUESTS:
        return error(path, 1, 1, "request.location",
                     "a request must be at requests/<env>/<team>/<name>.yaml; move the file there")
    stem = parts[3]
    if stem.endswith(".yml"):
        return error(path, 1, 1, "request.extension", "rename the file to end in .yaml")
    if not stem.endswith(".yaml"):
        return error(path, 1, 1, "request.extension", "request files end in .yaml")
    return parts[1], parts[2], stem[: -len(".yaml")]


def parse(path: str, raw: bytes | None, catalog: Catalog, config: PlatformConfig, *, symlink: bool = False,
          new: bool = False, today: date | None = None,
          loaded: Document | None = None) -> tuple[Request | None, list[Finding]]:
    """Check everything that needs only this file; the schema is checked too. Policies are not.

    `new`: the request does not exist on the base branch (a sunset version refuses new requests only);
    `today`: the date lifecycles are judged on (default: bot.core.lifecycle.today());
    `loaded`: `raw` already loaded by bot.core.yamlfile.load (the caller saves loading it twice).
    """
    if symlink or raw is None:
        return None, [error(path, 1, 1, "request.symlink",
                            "symlinks are not allowed under requests/; commit a regular file")]
    where = place(path)
    if isinstance(where, Finding):
        return None, [where]
    env, team, stem = where
    try:
        doc = loaded if loaded is not None else load(raw)
    except YamlProblem as exc:
        return None, [error(path, exc.line, exc.column, exc.rule, exc.message)]
    findings: list[Finding] = []

    def at(keys: tuple[str | int, ...], rule: str, message: str, *, key: bool = False) -> None:
        line, col = doc.mark(keys, key=key)
        findings.append(error(path, line, col, rule, message))

    data = doc.data
    for k in data:
        if k not in _ENVELOPE_KEYS:
            at((k,), "request.unknown-key", f"unknown key {k!r}; a request has apiVersion, kind, metadata, spec",
               key=True)
    api_version, kind = data.get("apiVersion"), data.get("kind")
    for key, value in (("apiVersion", api_version), ("kind", kind)):
        if not isinstance(value, str) or not value:
            at((key,), "request.envelope", f"{key} is required and must be a string")
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        at(("metadata",), "request.envelope", "metadata is required: a mapping with name and team")
        meta = {}
    for k in meta:
        if k not in _METADATA_KEYS:
            at(("metadata", k), "request.unknown-key",
               f"unknown key metadata.{k}; allowed: {', '.join(_METADATA_KEYS)}", key=True)
    name, mteam = meta.get("name"), meta.get("team")
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        at(("metadata", "name"), "request.name",
           f"metadata.name {name!r} must be a DNS-1123 label: lowercase letters, digits and '-', "
           "starting and ending with a letter or digit, at most 63 characters")
    elif name != stem:
        at(("metadata", "name"), "request.name-mismatch",
           f"metadata.name is {name!r} but the file is {stem}.yaml; make them the same")
    if mteam != team:
        at(("metadata", "team"), "request.team-mismatch",
           f"metadata.team is {mteam!r} but the file is under requests/{env}/{team}/; "
           f"set metadata.team: {team} or move the file")
    if not config.knows_team(team):
        known = ", ".join(sorted(config.teams)) or f"names matching {config.team_pattern}"
        at(("metadata", "team"), "request.unknown-team", f"team {team!r} is not in pledge.yaml (known: {known})")
    if config.env(env) is None:
        at((), "request.unknown-env",
           f"environment {env!r} is not in pledge.yaml (known: {', '.join(config.env_names)})")
    for key in ("labels", "annotations"):
        if key in meta and not _string_map(meta[key]):
            at(("metadata", key), "request.envelope", f"metadata.{key} must map strings to strings")
    spec = data.get("spec", {})
    if not isinstance(spec, dict):
        at(("spec",), "request.envelope", "spec must be a mapping")
    elif isinstance(spec.get("namespace"), str) and not in_team_namespaces(team, spec["namespace"], config):
        at(("spec", "namespace"), "request.namespace",
           f"spec.namespace {spec['namespace']!r} is not team {team}'s: use {team} or {team}-<something>")
    if findings or not isinstance(api_version, str) or not isinstance(kind, str):
        return None, findings
    offering = catalog.find(api_version, kind)
    if offering is None:
        versions = catalog.versions_of(kind)
        if versions:
            at(("apiVersion",), "request.unknown-version",
               f"{kind} has no version {api_version}; available: {', '.join(versions)}")
        else:
            at(("kind",), "request.unknown-offering",
               f"no offering of kind {kind!r}; available: {', '.join(catalog.kinds()) or 'none'}")
        return None, findings
    allowed = offering.meta.get("environments")
    if allowed is not None and env not in allowed:
        at((), "request.env-not-offered",
           f"{kind} {api_version} is not offered in {env!r} (offered in: {', '.join(allowed)})")
    findings.extend(lifecycle.request_findings(path, doc.mark(("apiVersion",)), offering, new=new,
                                               on=today or lifecycle.today()))
    findings.extend(schema_findings(path, doc, offering))
    request = Request(path, env, team, str(name), offering, doc, raw)
    return (None if any(f.severity == "error" for f in findings) else request), findings


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def schema_findings(path: str, doc: Document, offering: Offering) -> list[Finding]:
    """The offering's JSON Schema on `spec`, one finding per problem at the offending value's line."""
    spec = doc.data.get("spec", {})
    out: list[Finding] = []
    for err in offering.validator.iter_errors(spec):
        out.extend(_schema_error(path, doc, err))
    return out


def _schema_error(path: str, doc: Document, err: jsonschema.ValidationError) -> list[Finding]:
    keys = ("spec", *err.absolute_path)
    dotted = _dotted(keys)
    rule = f"schema.{err.validator}"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        out = []
        for k in extra:
            line, col = doc.mark((*keys, k), key=True)
            hint = f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
            out.append(error(path, line, col, rule, f"{_dotted((*keys, k))}: unknown key {k!r}{hint}"))
        if out:
            return out
    if err.validator == "required" and isinstance(err.validator_value, list):
        missing = [k for k in err.validator_value if isinstance(err.instance, dict) and k not in err.instance]
        line, col = doc.mark(keys, key=True)
        return [error(path, line, col, rule, f"{dotted}: missing required key {m!r}") for m in missing]
    line, col = doc.mark(keys)
    return [error(path, line, col, rule, f"{dotted}: {err.message}")]


def _dotted(keys: tuple[Any, ...]) -> str:
    out = ""
    for k in keys:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out
