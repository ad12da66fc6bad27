"""Who may run what (authorize, unhold_targets), which deliveries reach the parser (triage), and purity."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.authorization import at_least, authorize, effective_role, once, triage, unhold_targets
from bot.core.commands import COMMANDS, Command
from bot.core.paths import promotion_paths

ROOT = Path(__file__).resolve().parents[2]
PURE = ["bot/core/commands.py", "bot/core/approvals.py", "bot/core/audit.py"]


def cmd(verb: str, *args: str) -> Command:
    return Command(verb, args, 1)


def perm(role: str, calls: list[str] | None = None) -> Callable[[], str]:
    def lookup() -> str:
        if calls is not None:
            calls.append(role)
        return role

    return lookup


def never() -> str:
    raise AssertionError("no permission lookup expected")


@pytest.mark.parametrize("verb", ["check", "preview", "hold", "promote"])
def test_author_may_run_without_a_permission_call(verb: str) -> None:
    assert authorize(cmd(verb), user="Alice", author="alice", permission=never) is None


@pytest.mark.parametrize(("role", "allowed"), [("none", False), ("read", False), ("triage", False),
                                               ("write", True), ("maintain", True), ("admin", True)])
def test_others_need_write(role: str, allowed: bool) -> None:
    refusal = authorize(cmd("check"), user="bob", author="alice", permission=perm(role))
    assert (refusal is None) == allowed
    if not allowed:
        assert refusal == "@bob: only the pull request's author or people with write access can run `/pledge check`"


def test_help_and_unapprove_need_no_lookup() -> None:
    assert authorize(cmd("help"), user="x", author="alice", permission=never) is None
    assert authorize(cmd("unapprove"), user="x", author="alice", permission=never) is None


def test_author_cannot_approve_and_no_lookup_is_made() -> None:
    refusal = authorize(cmd("approve"), user="ALICE", author="alice", permission=never)
    assert refusal == "@ALICE: you opened this pull request, so you cannot approve it; ask a reviewer"
    assert authorize(cmd("approve"), user="bob", author="alice", permission=never) is None  # rules decide


def test_unhold_own_hold_without_lookup_others_need_maintain() -> None:
    assert authorize(cmd("unhold"), user="bob", author="alice", permission=never, holders=["Bob"]) is None
    refusal = authorize(cmd("unhold"), user="alice", author="alice", permission=perm("write"), holders=["bob"])
    assert refusal == ("@alice: only whoever placed the hold (bob) or people with maintain or admin access can "
                       "lift it")
    assert authorize(cmd("unhold"), user="carol", author="alice", permission=perm("maintain"),
                     holders=["bob"]) is None


def test_unhold_targets() -> None:
    holders = ["bob", "carol"]
    assert unhold_targets(holders, user="bob", permission=perm("write")) == ["bob"]
    assert unhold_targets(holders, user="bob", permission=perm("admin")) == ["bob", "carol"]
    assert unhold_targets(holders, user="dave", permission=perm("read")) == []
    assert unhold_targets(["bob"], user="bob", permission=never) == ["bob"]


def test_once_memoizes_the_lookup() -> None:
    calls: list[str] = []
    lookup = once(perm("write", calls))
    assert authorize(cmd("check"), user="bob", author="alice", permission=lookup) is None
    assert authorize(cmd("hold"), user="bob", author="alice", permission=lookup) is None
    assert calls == ["write"]


def test_permission_levels() -> None:
    assert at_least("maintain", "write") and at_least("admin", "maintain") and not at_least("triage", "write")
    assert not at_least("some-custom-role", "write")  # unknown role_name: the caller maps it via `permission`
    assert effective_role("write", "maintain") == "maintain" and effective_role("write", "release-manager") == "write"
    assert effective_role("read", "triage") == "triage" and effective_role("none", None) == "none"


def delivery(action: str = "created", *, login: str = "alice", kind: str = "User", pr: bool = True,
             state: str = "open", merged: bool = False) -> dict[str, Any]:
    issue: dict[str, Any] = {"number": 7, "state": state, "user": {"login": "alice"}}
    if pr:
        issue["pull_request"] = {"url": "https://api.github.com/repos/acme/platform/pulls/7",
                                 "merged_at": "2026-01-02T03:04:05Z" if merged else None}
    return {"action": action, "issue": issue, "comment": {"id": 1, "body": "/pledge approve",
                                                          "user": {"login": login, "type": kind}}}


@pytest.mark.parametrize(("payload", "verdict", "why"), [
    (delivery(), "run", ""),
    (delivery("edited"), "ignore", "edit must not replay"),
    (delivery("deleted"), "ignore", "only new comments"),
    (delivery(kind="Bot", login="renovate[bot]"), "ignore", "bots"),
    (delivery(login="pledge-bot"), "ignore", "bots"),
    (delivery(login="dependabot[bot]"), "ignore", "bots"),
    (delivery(pr=False), "ignore", "not plain issues"),
    (delivery(state="closed"), "closed", "is closed"),
    (delivery(state="closed", merged=True), "closed", "is merged"),
])
def test_triage(payload: dict[str, Any], verdict: str, why: str) -> None:
    result = triage(payload, app_slug="pledge-bot")
    assert result.verdict == verdict and why in result.why


def test_triage_survives_odd_payloads() -> None:
    assert triage({}, app_slug="x").verdict == "ignore"
    assert triage({"action": "created", "comment": "x", "issue": []}, app_slug="x").verdict == "ignore"


def test_pure_modules_import_no_flask_github_or_git() -> None:
    probe = ("import sys, bot.core.commands, bot.core.approvals, bot.core.audit; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'github', 'git', 'huey', 'requests'}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for rel in PURE:
        tree = ast.parse((ROOT / rel).read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        roots = {name.split(".")[0] for name in names}
        assert not roots & {"flask", "github", "git", "huey", "requests"}, rel
        assert not any(name == "bot.app" or name.startswith("bot.app.") for name in names), rel


def test_merged_pr_runs_only_promote_and_help() -> None:
    result = triage(delivery(state="closed", merged=True), app_slug="pledge-bot")
    assert result.merged and "only `/pledge promote` and `/pledge help` run here" in result.why
    assert {v for v, s in COMMANDS.items() if s.on_merged} == {"promote", "help"}
    assert not triage(delivery(state="closed"), app_slug="pledge-bot").merged


ENVS = ["dev", "staging", "prod"]


@pytest.mark.parametrize(("paths", "target", "expected"), [
    (["requests/dev/payments/db.yaml", "requests/dev/search/idx.yaml", "README.md"], "staging",
     {"requests/dev/payments/db.yaml": "requests/staging/payments/db.yaml",
      "requests/dev/search/idx.yaml": "requests/staging/search/idx.yaml"}),
    (["requests/staging/payments/db.yaml"], "prod",
     {"requests/staging/payments/db.yaml": "requests/prod/payments/db.yaml"}),
    (["requests/dev/payments/db.yaml"], "prod", "requests in dev are promoted to staging, not to prod"),
    (["requests/prod/payments/db.yaml"], "prod", "prod is the last environment; there is nothing to promote it to"),
    (["requests/dev/a/x.yaml", "requests/staging/a/x.yaml"], "staging",
     "promote needs the requests of exactly one environment; this pull request has: dev, staging"),
    (["docs/x.md"], "staging", "promote needs the requests of exactly one environment; this pull request has: none"),
    (["requests/dev/a/x.yaml"], "qa", "`qa` is not an environment in pledge.yaml (environments: dev, staging, prod)"),
])
def test_promotion_paths(paths: list[str], target: str, expected: object) -> None:
    assert promotion_paths(paths, target=target, env_names=ENVS) == expected
