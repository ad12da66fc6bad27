"""Approval rules: the pledge.yaml schema, evaluation (author, eligibility, SHA invalidation, approvable
policies, holds), the conclusion mapping, and an end-to-end run on the core's check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.approvals import (
    RULE_SCHEMA,
    Approval,
    ApprovalResult,
    Eligibility,
    FromSpec,
    Hold,
    Rule,
    approvable,
    conclusion,
    evaluate,
    load_rules,
    make_is_eligible,
    request_keys,
)
from bot.core.catalog import Catalog
from bot.core.check import base_rules, check
from bot.core.platform import parse_config
from bot.core.report import Finding, error, warning
from bot.core.tree import Change, MemoryTree, diff_trees
from bot.present.approvals import invalidated_line
from bot.present.approvals import lines as approval_lines
from bot.present.approvals import title as approval_title

HEAD, OLD = "def5678" + "0" * 33, "abc1234" + "0" * 33
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PLATFORM = """apiVersion: pledge.dev/v1
kind: Platform
environments: [{name: dev}, {name: staging}, {name: prod}]
teams: [{name: payments}]
"""
RULES = """approvals:
  - name: prod
    environments: [prod]
    count: 1
    from: {teams: [acme/platform-team], users: [alice], permission: admin}
  - name: policy-exceptions
    when: approvable-policy
    count: 1
    from: {teams: [acme/platform-team]}
"""
PROD_DB = ("prod", "postgres", "requests/prod/payments/db.yaml")
DEV_DB = ("dev", "postgres", "requests/dev/payments/db.yaml")


def rules(text: str = RULES) -> tuple[Rule, ...]:
    found, findings = load_rules(parse_config((PLATFORM + text).encode()))
    assert findings == []
    return found


class Directory:
    """A fake GitHub: team members and repository roles; counts the lookups `make_is_eligible` makes."""

    def __init__(self, members: dict[str, set[str]] | None = None, roles: dict[str, str] | None = None) -> None:
        self.members = members or {"acme/platform-team": {"carol"}}
        self.roles = roles or {}
        self.calls: list[tuple[str, ...]] = []

    def permission(self, user: str) -> str:
        self.calls.append(("permission", user))
        return self.roles.get(user, "read")

    def is_member(self, org: str, team: str, user: str) -> bool:
        self.calls.append(("team", f"{org}/{team}", user))
        return user in self.members.get(f"{org}/{team}", set())

    def eligible(self) -> Any:
        return make_is_eligible(permission=self.permission, is_member=self.is_member)


def approve(user: str, sha: str = HEAD, minutes: int = 0, reason: str = "") -> Approval:
    return Approval(user, sha, T0 + timedelta(minutes=minutes), reason)


def run(*approvals: Approval, requests: Sequence[tuple[str, str, str]] = (PROD_DB,), findings: Sequence[Finding] = (),
        holds: Sequence[Hold] = (), directory: Directory | None = None, valid: Sequence[str] = (),
        author: str = "dave", text: str = RULES) -> ApprovalResult:
    d = directory or Directory()
    return evaluate(rules(text), requests=requests, approvable_findings=findings, approvals=approvals,
                    head_sha=HEAD, author=author, is_eligible=d.eligible(), holds=holds, valid_shas=valid)


# --- the `approvals:` schema --------------------------------------------------------------------------------

def test_the_issue_example_parses() -> None:
    prod, exceptions = rules()
    assert (prod.name, prod.environments, prod.count, prod.when) == ("prod", ("prod",), 1, "request")
    assert prod.source == FromSpec(("acme/platform-team",), ("alice",), "admin")
    assert (exceptions.when, exceptions.source.teams) == ("approvable-policy", ("acme/platform-team",))
    assert RULE_SCHEMA["properties"]["from"]["properties"]["permission"]["enum"] == ["write", "maintain", "admin"]


@pytest.mark.parametrize(("item", "where", "message"), [
    ("{name: prod, from: {users: [a]}}", "approvals.0", "'count' is a required property"),
    ("{name: prod, count: 1, from: {teams: [platform-team]}}", "approvals.0.from.teams.0", "does not match"),
    ("{name: prod, count: 1, from: {permission: read}}", "approvals.0.from.permission", "is not one of"),
    ("{name: prod, count: 1, from: {}}", "approvals.0.from", "should be non-empty"),
    ("{name: prod, count: 0, from: {users: [a]}}", "approvals.0.count", "less than the minimum"),
    ("{name: prod, count: 1, from: {users: [a]}, env: [prod]}", "approvals.0", "Additional properties"),
    ("{name: Prod!, count: 1, from: {users: [a]}}", "approvals.0.name", "does not match"),
    ("{name: prod, count: 1, environments: [qa], from: {users: [a]}}", "approvals.0.environments",
     "unknown environment 'qa'"),
    ("{name: prod, count: 1, policies: [x], from: {users: [a]}}", "approvals.0.policies", "needs `when"),
    ("{name: prod, count: 2, from: {users: [a]}}", "approvals.0.count", "only 1 users"),
    ("{name: prod, count: 1, when: always, from: {users: [a]}}", "approvals.0.when", "is not one of"),
])
def test_bad_rules_fail_closed_with_a_line(item: str, where: str, message: str) -> None:
    config = parse_config((PLATFORM + f"approvals:\n  - {item}\n").encode())
    found, findings = load_rules(config)
    assert found == ()
    [f] = findings
    assert (f.path, f.line, f.rule, f.severity) == ("pledge.yaml", 6, "config.approvals", "error")
    assert f.message.startswith(where + ":") and message in f.message, f.message


def test_duplicate_rule_names_are_refused() -> None:
    text = "approvals:\n  - {name: a, count: 1, from: {users: [x]}}\n  - {name: a, count: 1, from: {users: [y]}}\n"
    found, [f] = load_rules(parse_config((PLATFORM + text).encode()))
    assert found == () and f.line == 7 and "used twice" in f.message


def test_no_approvals_section_means_no_rules() -> None:
    assert load_rules(parse_config(PLATFORM.encode())) == ((), [])


# --- evaluation ---------------------------------------------------------------------------------------------

def test_prod_request_without_approval_is_action_required() -> None:
    result = run()
    [req] = result.missing
    assert (req.rule.name, req.missing, req.subjects) == ("prod", 1, ("requests/prod/payments/db.yaml",))
    assert approval_title(result) == "1 approval needed: prod"
    assert conclusion([], result) == "action_required"
    assert any("0 of 1" in line and "needs 1 more from members of acme/platform-team" in line
               for line in approval_lines(result))


def test_team_member_is_accepted_with_one_lookup() -> None:
    d = Directory()
    result = run(approve("carol", reason="checked sizing"), directory=d)
    assert result.satisfied and result.requirements[0].approvers == ("carol",)
    assert conclusion([], result) == "success" and approval_title(result) == "Approved"
    assert d.calls == [("team", "acme/platform-team", "carol")]  # the budget: one membership GET


def test_listed_user_needs_no_lookup_and_admin_role_counts() -> None:
    d = Directory(roles={"erin": "admin"})
    assert run(approve("alice"), directory=d).satisfied and d.calls == []
    assert run(approve("erin"), directory=d).satisfied
    assert d.calls == [("team", "acme/platform-team", "erin"), ("permission", "erin")]


def test_read_access_user_is_refused_in_one_line() -> None:
    result = run(approve("mallory"), directory=Directory(roles={"mallory": "read"}))
    assert not result.satisfied
    assert result.refusal("mallory") == ("@mallory: only members of acme/platform-team, alice or people with "
                                         "admin access can approve prod requests (pledge.yaml: approvals.prod)")


def test_write_access_is_not_enough_for_an_admin_rule() -> None:
    result = run(approve("wendy"), directory=Directory(roles={"wendy": "write"}))
    assert result.refusal("wendy") is not None and not result.satisfied


def test_refusal_names_the_team_only_rule() -> None:
    text = "approvals:\n  - {name: prod, environments: [prod], count: 1, from: {teams: [acme/platform-team]}}\n"
    result = run(approve("mallory"), text=text)
    assert result.refusal("mallory") == ("@mallory: only members of acme/platform-team can approve prod requests "
                                         "(pledge.yaml: approvals.prod)")


def test_author_can_never_approve_and_is_not_looked_up() -> None:
    d = Directory(members={"acme/platform-team": {"dave"}})
    result = run(approve("Dave"), directory=d, author="dave")
    assert not result.satisfied and d.calls == []
    assert result.refusal("dave") == "@Dave: you opened this pull request, so you cannot approve it"


def test_approval_at_an_older_sha_is_invalidated_by_the_push() -> None:
    d = Directory()
    result = run(approve("carol", sha=OLD), directory=d)
    assert not result.satisfied and d.calls == []  # no lookup for an approval that cannot count
    [inv] = result.invalidated
    assert invalidated_line(inv) == ("carol's approval at `abc1234` was invalidated by push `def5678` (requests, "
                          "catalog or pledge.yaml changed); approve again with `/pledge approve`")
    assert any("invalidated by push `def5678`" in line for line in approval_lines(result))


def test_approval_carried_over_when_the_caller_says_the_requests_are_unchanged() -> None:
    result = run(approve("carol", sha=OLD), valid=[OLD])
    assert result.satisfied and result.invalidated == ()


def test_latest_approval_of_a_user_counts() -> None:
    result = run(approve("carol", sha=HEAD, minutes=0), approve("carol", sha=OLD, minutes=5))
    assert not result.satisfied and len(result.invalidated) == 1


def test_count_two_needs_two_people() -> None:
    text = "approvals:\n  - {name: prod, environments: [prod], count: 2, from: {teams: [acme/platform-team]}}\n"
    d = Directory(members={"acme/platform-team": {"carol", "frank"}})
    assert run(approve("carol"), approve("carol", minutes=1), directory=d, text=text).missing[0].missing == 1
    assert run(approve("carol"), approve("frank", minutes=1), directory=d, text=text).satisfied


def test_dev_request_needs_nothing_and_approvals_are_unneeded() -> None:
    d = Directory()
    result = run(approve("carol"), requests=[DEV_DB], directory=d)
    assert result.satisfied and result.requirements == () and result.unneeded == ("carol",)
    assert approval_lines(result) == [] and d.calls == [] and approval_title(result) == "No approval needed"


def test_offering_filter() -> None:
    text = ("approvals:\n  - name: pg\n    offerings: [postgres]\n    environments: [prod]\n    count: 1\n"
            "    from: {users: [alice]}\n")
    assert run(requests=[("prod", "cache", "requests/prod/payments/c.yaml")], text=text).requirements == ()
    assert run(requests=[PROD_DB], text=text).missing[0].rule.subject() == "postgres requests in prod"


def approvable_finding(path: str = PROD_DB[2], severity: str = "error") -> Finding:
    return Finding(path, 4, 3, severity, "policy-approvable.cost-limit/max-size", "size 64 exceeds the budget")


def test_approvable_policy_failure_turns_into_a_requirement() -> None:
    finding = approvable_finding()
    plain = error(PROD_DB[2], 2, 1, "policy.naming/prefix", "bad name")
    text = ("approvals:\n  - {name: policy-exceptions, when: approvable-policy, count: 1, "
            "from: {teams: [acme/platform-team]}}\n")
    result = run(requests=[PROD_DB], findings=[finding], text=text)
    [req] = result.requirements
    assert req.rule.name == "policy-exceptions" and req.findings == (finding,)
    assert req.subjects == ("cost-limit on requests/prod/payments/db.yaml:4",)
    assert conclusion([finding], result) == "action_required"
    assert conclusion([finding, plain], result) == "failure"  # other errors still fail
    approved = run(approve("carol"), requests=[PROD_DB], findings=[finding], text=text)
    assert approved.satisfied and conclusion([finding], approved) == "success"


def test_approvable_policy_without_a_rule_stays_a_failure() -> None:
    finding = approvable_finding()
    text = "approvals:\n  - {name: prod, environments: [prod], count: 1, from: {users: [alice]}}\n"
    result = run(approve("alice"), findings=[finding], text=text)
    assert result.uncovered == (finding,) and conclusion([finding], result) == "failure"
    assert any("no approvals rule with `when: approvable-policy` covers it" in line for line in approval_lines(result))


def test_approvable_warning_is_not_a_requirement() -> None:
    finding = approvable_finding(severity="warning")
    result = run(requests=[DEV_DB], findings=[finding])
    assert result.requirements == () and conclusion([finding], result) == "neutral"


def test_policy_rule_filters_by_policy_name() -> None:
    text = ("approvals:\n  - {name: x, when: approvable-policy, policies: [other], count: 1, "
            "from: {users: [alice]}}\n")
    finding = approvable_finding()
    assert run(findings=[finding], text=text).uncovered == (finding,)


def test_hold_blocks_even_when_approved() -> None:
    hold = Hold("bob", HEAD, T0, "wait for the <b>freeze</b> @team")
    result = run(approve("carol"), holds=[hold])
    assert result.satisfied and result.blocked
    assert conclusion([], result) == "action_required" and approval_title(result) == "On hold by bob"
    line = next(line for line in approval_lines(result) if "on hold" in line)
    assert "&lt;b&gt;freeze&lt;/b&gt;" in line and "@team" not in line  # escaped, no ping on edits


def test_one_lookup_per_person_and_spec_across_rules() -> None:
    text = ("approvals:\n  - {name: a, environments: [prod], count: 1, from: {teams: [acme/platform-team]}}\n"
            "  - {name: b, offerings: [postgres], count: 1, from: {teams: [acme/platform-team]}}\n")
    d = Directory()
    result = run(approve("carol"), directory=d, text=text)
    assert result.satisfied and len(result.requirements) == 2
    assert d.calls == [("team", "acme/platform-team", "carol")]


def test_custom_is_eligible_is_honoured() -> None:
    calls: list[str] = []

    def eligible(user: str, spec: FromSpec) -> Eligibility:
        calls.append(user)
        return Eligibility(user == "zed")

    result = evaluate(rules(), requests=[PROD_DB], approvable_findings=[], approvals=[approve("zed")],
                      head_sha=HEAD, author="dave", is_eligible=eligible)
    assert result.satisfied and calls == ["zed"]


def test_conclusion_keeps_warnings_neutral() -> None:
    result = run(approve("carol"))
    assert conclusion([warning("x.yaml", 1, 1, "w", "w")], result) == "neutral"


# --- end to end with the core's check on an in-memory platform repository -----------------------------------

MINIREPO = Path(__file__).resolve().parents[1] / "core" / "minirepo"


def minirepo(extra: dict[str, str]) -> MemoryTree:
    files = {str(p.relative_to(MINIREPO)): p.read_bytes() for p in MINIREPO.rglob("*") if p.is_file()}
    files["policies/cache/limits.yaml"] = files["policies/cache/limits.yaml"].replace(
        b"  name: cache-limits\n", b"  name: cache-limits\n  annotations:\n    pledge.dev/approvable: \"true\"\n")
    files["pledge.yaml"] += (b"approvals:\n  - {name: prod, environments: [prod], count: 1, from: {users: [alice]}}\n"
                             b"  - {name: exceptions, when: approvable-policy, count: 1, "
                             b"from: {teams: [acme/platform-team]}}\n")
    return MemoryTree({**files, **extra})


def base_catalog(base: MemoryTree) -> Catalog:
    catalog = base_rules(base).catalog
    assert catalog is not None
    return catalog


def test_end_to_end_small_prod_cache_needs_two_approvals() -> None:
    small = "apiVersion: pledge.dev/v1\nkind: Cache\nmetadata: {name: big, team: payments}\nspec: {size: 2}\n"
    base, head = minirepo({}), minirepo({"requests/prod/payments/big.yaml": small})
    changed: list[Change] = diff_trees(base, head, ("requests",))
    report = check(base, head, changed)
    assert report.conclusion == "failure"  # the core alone: the policy failed
    found = approvable(report.findings)
    assert [f.rule for f in found] == ["policy-approvable.cache-limits/prod-size"]
    config_rules, problems = load_rules(parse_config(base.read("pledge.yaml") or b""))
    assert problems == []
    keys = request_keys(base, head, report.judged, base_catalog(base))
    assert keys == [("prod", "cache", "requests/prod/payments/big.yaml")]
    d = Directory()

    def result(*approvals: Approval) -> ApprovalResult:
        return evaluate(config_rules, requests=keys, approvable_findings=found, approvals=approvals,
                        head_sha=HEAD, author="dave", is_eligible=d.eligible())

    assert [r.rule.name for r in result().missing] == ["prod", "exceptions"]
    assert conclusion(report.findings, result()) == "action_required"
    assert conclusion(report.findings, result(approve("alice"))) == "action_required"
    both = result(approve("alice"), approve("carol", minutes=1))
    assert both.satisfied and conclusion(report.findings, both) == "success"


def test_request_keys_of_a_deleted_request_use_the_base_version() -> None:
    old = "apiVersion: pledge.dev/v1\nkind: Cache\nmetadata: {name: old, team: payments}\nspec: {size: 8}\n"
    base = minirepo({"requests/prod/payments/old.yaml": old})
    head = minirepo({})
    assert request_keys(base, head, ["requests/prod/payments/old.yaml"], base_catalog(base)) == [
        ("prod", "cache", "requests/prod/payments/old.yaml")]
    broken = minirepo({"requests/prod/payments/x.yaml": "kind: [unclosed"})
    assert request_keys(base, broken, ["requests/prod/payments/x.yaml", "README.md"], base_catalog(base)) == [
        ("prod", "", "requests/prod/payments/x.yaml")]
