"""Validate requests: envelope and schema (bot.core.request), the offering's policies, and cross-file checks."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

from bot.core import lifecycle, policy, quota
from bot.core.catalog import Catalog, load_catalog
from bot.core.paths import REQUESTS, is_ignored
from bot.core.platform import PlatformConfig, load_config
from bot.core.render import Rendered
from bot.core.report import SEVERITIES, Finding, Report, error
from bot.core.request import Request, parse
from bot.core.tree import Tree
from bot.core.yamlfile import YamlProblem, load

SEVERITY_ANNOTATION = "pledge.dev/severity"
APPROVABLE_ANNOTATION = "pledge.dev/approvable"


def bindings(req: Request, config: PlatformConfig) -> dict[str, Any]:
    env = config.env(req.env)
    return {
        "env": req.env,
        "team": req.team,
        "name": req.name,
        "offering": req.offering.name,
        "version": req.offering.version,
        "config": config.data,
        "environment": env.to_data() if env else {},
    }


def _severity(pol: policy.Policy) -> str:
    value = pol.annotations.get(SEVERITY_ANNOTATION, "error")
    return value if value in SEVERITIES else "error"


def _findings(results: Iterable[policy.RuleResult], pol: policy.Policy, req: Request,
              prefix: str = "") -> list[Finding]:
    out: list[Finding] = []
    severity = _severity(pol)
    rule_prefix = "policy-approvable" if pol.annotations.get(APPROVABLE_ANNOTATION) == "true" else "policy"
    for res in results:
        rule = f"{rule_prefix}.{pol.name}/{res.rule}"
        if res.status == "error":
            line, col = req.doc.mark(("spec",), key=True)
            out.append(error(pol.source, 1, 1, "catalog.policy-error",
                             f"policy {pol.name}/{res.rule} could not be evaluated on {req.path}: {res.error}"))
            continue
        if res.status != "fail":
            continue
        for v in res.violations:
            locations = [_refine(e, req.data) for e in v.errors if e.location] or [("spec",)]
            details = "; ".join(e.detail for e in v.errors if e.detail)
            text = v.message or f"violates {pol.name}/{res.rule}"
            if not v.message and details:
                text += f" ({details})"
            for loc in dict.fromkeys(locations):
                line, col = _place(req, tuple(loc)) if not prefix else req.doc.mark(("spec",), key=True)
                out.append(Finding(req.path, line, col, severity, rule, prefix + text))
    return out


_PROJECTED_KEY = re.compile(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")


def _refine(err: policy.FieldError, data: Any) -> tuple[str | int, ...]:
    """The violated location; a projection that starts with a key, like `(size >= `4`)`, points at that key."""
    location = tuple(err.location or ())
    match = _PROJECTED_KEY.search(err.path)
    node = data
    for key in location:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return location
    if match and isinstance(node, dict) and match[1] in node:
        return (*location, match[1])
    return location


def _place(req: Request, location: tuple[str | int, ...]) -> tuple[int, int]:
    """A present value's own position; for a missing key, its parent's key line (as schema errors do)."""
    if location in req.doc.marks:
        return req.doc.marks[location]
    return req.doc.mark(location, key=True)


def judge(req: Request, catalog: Catalog, config: PlatformConfig) -> list[Finding]:
    """Run the offering's policies and the repository-wide request policies on one request."""
    out: list[Finding] = []
    binds = bindings(req, config)
    for pol in [*req.offering.policies, *catalog.request_policies]:
        out.extend(_findings(pol.evaluate(req.data, binds), pol, req))
    return out


def judge_rendered(rendered: Rendered, catalog: Catalog, config: PlatformConfig) -> list[Finding]:
    """Run the rendered-object policies on everything one request renders to."""
    out: list[Finding] = []
    binds = bindings(rendered.request, config) | {"request": rendered.request.data}
    for obj in rendered.objects:
        label = f"{obj['kind']} {obj['metadata']['name']}: "
        for pol in catalog.rendered_policies:
            out.extend(_findings(pol.evaluate(obj, binds), pol, rendered.request, prefix=label))
    return out


def request_entries(tree: Tree, only: Sequence[str] | None = None) -> list[tuple[str, bool]]:
    """(path, is_symlink) of every file under requests/ (or only those listed), docs and dotfiles skipped."""
    entries = [(e.path, e.is_symlink) for e in tree.files(REQUESTS) if not is_ignored(e.path)]
    if only:
        wanted = [p.rstrip("/") for p in only]
        entries = [(p, s) for p, s in entries if any(p == w or p.startswith(w + "/") for w in wanted)]
    return entries


def load_requests(tree: Tree, catalog: Catalog, config: PlatformConfig, entries: Sequence[tuple[str, bool]], *,
                  new: Collection[str] = (), today: date | None = None) -> tuple[list[Request], list[Finding]]:
    """Parse and judge each request; return those fit to render, and every finding (cross-file ones too).

    `new`: paths of requests that do not exist on the base branch (the PR check knows; everything else is
    treated as existing); `today`: the date lifecycles are judged on (default: bot.core.lifecycle.today()).
    """
    on = today or lifecycle.today()
    requests: list[Request] = []
    findings: list[Finding] = []
    claims: list[Claim] = []
    for path, symlink in entries:
        raw = None if symlink else tree.read(path)
        req, problems = parse(path, raw, catalog, config, symlink=symlink, new=path in new, today=on)
        findings.extend(problems)
        if req is None and any(p.rule == "request.name-mismatch" for p in problems):
            claims.extend(_claim(path, raw))
        if req is not None:
            verdict = judge(req, catalog, config)
            findings.extend(verdict)
            # a policy error stops the request here; one a human may approve does not (approvals decide)
            if not any(f.severity == "error" and not f.rule.startswith("policy-approvable.") for f in verdict):
                requests.append(req)
    findings.extend(duplicates(requests, claims))
    return requests, findings


# (env, team, kind, name) a file asks for, its path, and where metadata.name stands
Claim = tuple[tuple[str, str, str, str], str, tuple[int, int]]


def _claim(path: str, raw: bytes | None) -> list[Claim]:
    """The identity a file claims although it failed (its name differs from its file name)."""
    try:
        doc = load(raw or b"")
    except YamlProblem:
        return []
    env, team = path.split("/")[1:3]
    kind, name = doc.data.get("kind"), (doc.data.get("metadata") or {}).get("name")
    if not isinstance(kind, str) or not isinstance(name, str):
        return []
    return [((env, team, kind, name), path, doc.mark(("metadata", "name")))]


def duplicates(requests: Sequence[Request], claims: Sequence[Claim] = ()) -> list[Finding]:
    """Two files asking for the same (env, team, kind, name): each later one is an error naming the first."""
    seen: dict[tuple[str, str, str, str], str] = {}
    out: list[Finding] = []
    valid = sorted((r.identity, r.path, r.doc.mark(("metadata", "name"))) for r in requests)
    for identity, path, (line, col) in [*valid, *claims]:  # a valid request is the first claim
        first = seen.setdefault(identity, path)
        if first != path:
            env, team, kind, name = identity
            out.append(error(path, line, col, "request.duplicate",
                             f"{kind} {name!r} for team {team} in {env} is also requested by {first}; keep one"))
    return out


def validate_tree(tree: Tree, only: Sequence[str] | None = None, *, today: date | None = None) -> Report:
    """`pledge validate`: every request (or those under `only`) against the catalog and pledge.yaml.

    There is no base branch here, so every request counts as existing (a sunset version warns, never fails).
    """
    config = load_config(tree)
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    report = Report(findings=list(catalog.findings))
    entries = request_entries(tree, only)
    requests, findings = load_requests(tree, catalog, config, entries, today=today)
    report.extend(findings)
    report.extend(quota.over_quota(requests))
    report.judged = [p for p, _ in entries]
    report.notes.append(f"{len(entries)} request(s) checked, {len(requests)} valid")
    return report
