"""Approval rules from pledge.yaml (base branch) and their pure evaluation against approvals and holds."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from bot.core import jsonschema_linear
from bot.core.authorization import at_least
from bot.core.catalog import Catalog
from bot.core.paths import CONFIG_PATH
from bot.core.platform import DNS_LABEL, PlatformConfig
from bot.core.report import ERROR, WARNING, Conclusion, Finding, error
from bot.core.request import place
from bot.core.tree import Tree
from bot.core.yamlfile import YamlProblem, load

APPROVABLE_PREFIX = "policy-approvable."
WHEN_REQUEST, WHEN_POLICY = "request", "approvable-policy"
_LOGIN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"
_TEAM = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_NAMES: dict[str, Any] = {"type": "array", "minItems": 1, "uniqueItems": True,
                          "items": {"type": "string", "minLength": 1}}
RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "One item of pledge.yaml `approvals:`",
    "type": "object",
    "required": ["name", "count", "from"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": DNS_LABEL},
        "description": {"type": "string"},
        "when": {"enum": [WHEN_REQUEST, WHEN_POLICY]},
        "environments": _NAMES,
        "offerings": _NAMES,
        "policies": _NAMES,
        "count": {"type": "integer", "minimum": 1, "maximum": 20},
        "from": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "teams": {**_NAMES, "items": {"type": "string", "pattern": _TEAM}},
                "users": {**_NAMES, "items": {"type": "string", "pattern": _LOGIN}},
                "permission": {"enum": ["write", "maintain", "admin"]},
            },
        },
    },
}
_VALIDATOR = jsonschema_linear.validator(RULE_SCHEMA, formats=False)


@dataclass(frozen=True)
class FromSpec:
    """Who may give an approval: any listed user, any active member of a team, or a repository role."""

    teams: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    permission: str | None = None

    def describe(self) -> str:
        parts = [f"members of {', '.join(self.teams)}"] if self.teams else []
        parts += [", ".join(self.users)] if self.users else []
        parts += [f"people with {self.permission} access"] if self.permission else []
        return " or ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " or " + parts[-1]


@dataclass(frozen=True)
class Rule:
    name: str
    count: int
    source: FromSpec
    when: str = WHEN_REQUEST
    environments: tuple[str, ...] = ()
    offerings: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()

    def matches(self, env: str, offering: str) -> bool:
        return (not self.environments or env in self.environments) and (
            not self.offerings or offering in self.offerings)

    def subject(self) -> str:
        where = f" in {'/'.join(self.environments)}" if self.environments else ""
        if self.when == WHEN_POLICY:
            what = f"exceptions to {', '.join(self.policies)}" if self.policies else "policy exceptions"
            return what + (f" for {'/'.join(self.offerings)}" if self.offerings else "") + where
        if self.offerings:
            return f"{'/'.join(self.offerings)} requests{where}"
        return f"{'/'.join(self.environments)} requests" if self.environments else "requests"

    def describe(self) -> str:
        n = f"{self.count} approval{'s' if self.count > 1 else ''}"
        return f"`{self.name}`: {n} from {self.source.describe()} for {self.subject()}"


class RequestKey(NamedTuple):
    env: str
    offering: str
    path: str


@dataclass(frozen=True)
class Eligibility:
    eligible: bool


@dataclass(frozen=True)
class Approval:
    user: str
    sha: str  # the commit Pledge had checked when the approval was given
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Hold:
    user: str
    sha: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Requirement:
    rule: Rule
    subjects: tuple[str, ...]  # request paths, or "policy on path:line" for exceptions
    approvers: tuple[str, ...]
    findings: tuple[Finding, ...] = ()  # approvable findings this requirement clears

    @property
    def missing(self) -> int:
        return max(0, self.rule.count - len(self.approvers))


@dataclass(frozen=True)
class Invalidated:
    approval: Approval
    by: str  # the head SHA whose push invalidated it


@dataclass(frozen=True)
class Refusal:
    user: str
    line: str  # one line for the reply: "@user: only ... (pledge.yaml: approvals.<name>)"


@dataclass(frozen=True)
class ApprovalResult:
    head_sha: str
    requirements: tuple[Requirement, ...] = ()
    invalidated: tuple[Invalidated, ...] = ()
    refused: tuple[Refusal, ...] = ()
    holds: tuple[Hold, ...] = ()
    uncovered: tuple[Finding, ...] = ()  # approvable failures no `when: approvable-policy` rule covers
    unneeded: tuple[str, ...] = ()  # approvers while no rule applies

    @property
    def missing(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.missing)

    @property
    def satisfied(self) -> bool:
        return not self.missing

    @property
    def blocked(self) -> bool:
        return bool(self.missing or self.holds)

    @property
    def covered(self) -> frozenset[Finding]:
        return frozenset(f for r in self.requirements for f in r.findings)

    def refusal(self, user: str) -> str | None:
        return next((r.line for r in self.refused if r.user.lower() == user.lower()), None)


def policy_of(finding: Finding) -> str:
    """The policy name of a `policy-approvable.<policy>/<rule>` finding."""
    return finding.rule.removeprefix(APPROVABLE_PREFIX).split("/", 1)[0]


def approvable(findings: Iterable[Finding]) -> list[Finding]:
    return sorted({f for f in findings if f.rule.startswith(APPROVABLE_PREFIX)})


def evaluate(rules: Sequence[Rule], *, requests: Sequence[tuple[str, str, str]],
             approvable_findings: Sequence[Finding], approvals: Sequence[Approval], head_sha: str, author: str,
             is_eligible: Callable[[str, FromSpec], Eligibility], holds: Sequence[Hold] = (),
             valid_shas: Collection[str] = ()) -> ApprovalResult:
    """What this head commit still needs. Approvals count only at `head_sha` or a SHA in `valid_shas` (the
    caller's list of earlier commits with the same request files); the author never counts; `is_eligible` is
    asked at most once per (approver, FromSpec), and never for the author or an invalidated approval. Reuse one
    `is_eligible` (make_is_eligible) for every evaluate of a job, so its memo spares repeated lookups."""
    keys = [RequestKey(*r) for r in requests]
    where = {k.path: k for k in keys}
    blocking = [f for f in approvable(approvable_findings) if f.severity == ERROR]
    pending: list[tuple[Rule, tuple[str, ...], tuple[Finding, ...]]] = []
    for rule in rules:
        if rule.when == WHEN_POLICY:
            found = tuple(f for f in blocking if _covers(rule, f, where))
            if found:
                pending.append((rule, tuple(dict.fromkeys(f"{policy_of(f)} on {f.path}:{f.line}" for f in found)),
                                found))
        else:
            paths = tuple(dict.fromkeys(k.path for k in keys if rule.matches(k.env, k.offering)))
            if paths:
                pending.append((rule, paths, ()))
    latest: dict[str, Approval] = {}
    for a in sorted(approvals, key=lambda a: a.at):
        latest[a.user.lower()] = a
    valid = {head_sha, *valid_shas}
    counted: dict[str, list[str]] = {rule.name: [] for rule, _, _ in pending}
    memo: dict[tuple[str, FromSpec], bool] = {}
    invalidated: list[Invalidated] = []
    refused: list[Refusal] = []
    unneeded: list[str] = []
    nowhere: list[str] = []
    for a in latest.values():
        if a.user.lower() == author.lower():
            refused.append(Refusal(a.user, f"@{a.user}: you opened this pull request, so you cannot approve it"))
        elif a.sha not in valid:
            invalidated.append(Invalidated(a, head_sha))
        elif not pending:
            unneeded.append(a.user)
        else:
            hit = False
            for rule, _, _ in pending:
                key = (a.user.lower(), rule.source)
                if key not in memo:
                    memo[key] = is_eligible(a.user, rule.source).eligible
                if memo[key]:
                    counted[rule.name].append(a.user)
                    hit = True
            if not hit:
                nowhere.append(a.user)
    for user in nowhere:
        rule = next((r for r, _, _ in pending if len(counted[r.name]) < r.count), pending[0][0])
        refused.append(Refusal(user, refusal_line(user, rule)))
    return ApprovalResult(
        head_sha=head_sha,
        requirements=tuple(Requirement(rule, subjects, tuple(counted[rule.name]), found)
                           for rule, subjects, found in pending),
        invalidated=tuple(invalidated),
        refused=tuple(refused),
        holds=tuple(sorted(holds, key=lambda h: h.at)),
        uncovered=tuple(sorted(set(blocking) - {f for _, _, fs in pending for f in fs})),
        unneeded=tuple(unneeded),
    )


def refusal_line(user: str, rule: Rule) -> str:
    return (f"@{user}: only {rule.source.describe()} can approve {rule.subject()} "
            f"(pledge.yaml: approvals.{rule.name})")


def conclusion(findings: Iterable[Finding], result: ApprovalResult) -> Conclusion:
    """The check conclusion with approvals: failure (errors left) > action_required (approvals missing or a
    hold) > neutral (warnings) > success. Approvable failures a rule covers become requirements instead."""
    rest = set(findings) - result.covered
    if any(f.severity == ERROR for f in rest):
        return Conclusion.FAILURE
    if result.blocked:
        return Conclusion.ACTION_REQUIRED
    return Conclusion.NEUTRAL if any(f.severity == WARNING for f in rest) else Conclusion.SUCCESS


def _covers(rule: Rule, finding: Finding, where: Mapping[str, RequestKey]) -> bool:
    if rule.policies and policy_of(finding) not in rule.policies:
        return False
    key = where.get(finding.path)
    if key is None:
        return not (rule.environments or rule.offerings)
    return rule.matches(key.env, key.offering)


def make_is_eligible(*, permission: Callable[[str], str],
                     is_member: Callable[[str, str, str], bool]) -> Callable[[str, FromSpec], Eligibility]:
    """An `is_eligible` over two API lookups, each made at most once per user (team) in this job:
    listed users (no call), then team membership (`is_member(org, team_slug, user)`: GET
    /orgs/{org}/teams/{slug}/memberships/{user}, state active), then the repository role (`permission(user)`:
    role_name of GET /repos/{o}/{r}/collaborators/{user}/permission). Never author_association."""
    roles: dict[str, str] = {}
    members: dict[tuple[str, str], bool] = {}

    def check(user: str, spec: FromSpec) -> Eligibility:
        me = user.lower()
        if me in {u.lower() for u in spec.users}:
            return Eligibility(True)
        for team in spec.teams:
            if (team.lower(), me) not in members:
                org, slug = team.split("/", 1)
                members[(team.lower(), me)] = is_member(org, slug, user)
            if members[(team.lower(), me)]:
                return Eligibility(True)
        if spec.permission:
            if me not in roles:
                roles[me] = permission(user)
            if at_least(roles[me], spec.permission):
                return Eligibility(True)
        return Eligibility(False)

    return check


def load_rules(config: PlatformConfig) -> tuple[tuple[Rule, ...], list[Finding]]:
    """The `approvals:` rules of pledge.yaml, or none and the findings saying what is wrong (fail closed)."""
    items = config.data.get("approvals") or []
    try:
        doc = load(config.source) if config.source else None
    except YamlProblem:
        doc = None

    def at(path: tuple[str | int, ...], message: str) -> Finding:
        line, col = doc.mark(("approvals", *path)) if doc else (1, 1)
        where = ".".join(str(p) for p in ("approvals", *path))
        return error(CONFIG_PATH, line, col, "config.approvals", f"{where}: {message}")

    findings: list[Finding] = []
    rules: list[Rule] = []
    for i, item in enumerate(items):
        errors = sorted(_VALIDATOR.iter_errors(item), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            findings.append(at((i, *errors[0].absolute_path), errors[0].message))
            continue
        source = item["from"]
        rule = Rule(item["name"], item["count"],
                    FromSpec(tuple(source.get("teams", ())), tuple(source.get("users", ())), source.get("permission")),
                    item.get("when", WHEN_REQUEST), tuple(item.get("environments", ())),
                    tuple(item.get("offerings", ())), tuple(item.get("policies", ())))
        unknown = [e for e in rule.environments if e not in config.env_names]
        if any(r.name == rule.name for r in rules):
            findings.append(at((i, "name"), f"the name {rule.name!r} is used twice"))
        elif unknown:
            findings.append(at((i, "environments"), f"unknown environment {unknown[0]!r}; pledge.yaml has "
                               + ", ".join(config.env_names)))
        elif rule.policies and rule.when != WHEN_POLICY:
            findings.append(at((i, "policies"), "`policies` needs `when: approvable-policy`"))
        elif not rule.source.teams and not rule.source.permission and rule.count > len(rule.source.users):
            findings.append(at((i, "count"), f"{rule.count} approvals asked but only "
                               f"{len(rule.source.users)} users may give them"))
        rules.append(rule)
    return (() if findings else tuple(rules)), findings


def describe_rules(rules: Sequence[Rule]) -> list[str]:
    """One line per rule, for `/pledge help`."""
    return [r.describe() for r in rules]


def request_keys(base: Tree, head: Tree, paths: Sequence[str], catalog: Catalog) -> list[RequestKey]:
    """(env, offering, path) of changed request files: the offering of the head version and, when it differs
    or the file is deleted, of the base version too (deleting a prod database needs the prod approval).
    `catalog` is the base branch's."""
    out: list[RequestKey] = []
    for path in paths:
        where = place(path)
        if isinstance(where, Finding):
            continue
        offerings = dict.fromkeys(o for o in (_offering(head.read(path), catalog),
                                              _offering(base.read(path), catalog)) if o is not None)
        out += [RequestKey(where[0], o, path) for o in offerings or {"": None}]
    return out


def _offering(raw: bytes | None, catalog: Catalog) -> str | None:
    if raw is None:
        return None
    try:
        data = load(raw).data
    except YamlProblem:
        return ""
    found = catalog.find(str(data.get("apiVersion", "")), str(data.get("kind", "")))
    return found.name if found else ""
