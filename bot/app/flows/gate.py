"""Approvals in the check flow: the gate of a checked commit, its stored snapshot and the lookups it needs."""

from __future__ import annotations

import re
from collections.abc import Iterable

import git

from bot.adapters.git.mirror import PullTrees
from bot.adapters.github.client import Installation
from bot.adapters.store.audit import AuditStore
from bot.app.context import Context
from bot.core import approvals
from bot.core import gate as core_gate
from bot.core.check import BaseRules
from bot.core.gate import Eligible, Gate, Snapshot
from bot.core.paths import INPUT_PREFIXES, is_request
from bot.core.report import Report

_SHA = re.compile(r"^[0-9a-f]{40}$")


def load_snapshot(ctx: Context, repo: str, number: int) -> Snapshot | None:
    raw = ctx.records.snapshot(repo, number)
    return Snapshot.loads(raw) if raw else None


def eligibility(inst: Installation, repo: str) -> Eligible:
    """One per job (its memo spares repeated lookups): team membership and collaborator-permission APIs."""
    return approvals.make_is_eligible(permission=lambda user: inst.role(repo, user),
                                      is_member=lambda org, team, user: inst.is_member(org, team, user))


def valid_shas(bare: git.Repo, shas: Iterable[str], head: str) -> set[str]:
    """Earlier commits whose approvals still count at `head`: ancestors of it (a force-push drops them) with
    the same requests, catalog and pledge.yaml (`git diff --quiet <sha> <head> -- requests/ schemas/ ...`):
    an approval never covers content the approver did not see."""
    out: set[str] = set()
    for sha in set(shas) - {head}:
        if not _SHA.match(sha):
            continue
        try:
            bare.git.merge_base("--is-ancestor", sha, head)
            bare.git.diff("--quiet", sha, head, "--", *INPUT_PREFIXES)
        except git.GitCommandError:
            continue
        out.add(sha)
    return out


def evaluate(store: AuditStore, snap: Snapshot, repo: str, number: int, eligible: Eligible, *,
             extra: Iterable[approvals.Approval] = ()) -> Gate:
    """The stored snapshot's gate against the audit trail as it is now."""
    return core_gate.evaluate(snap, store.state(repo, number), eligible, extra=extra)


def check_gate(ctx: Context, inst: Installation, repo: str, number: int, trees: PullTrees, report: Report,
               rules: BaseRules, *, author: str, base_ref: str, pull_url: str,
               quiet: int | None = None) -> tuple[Gate, Snapshot]:
    """For the check flow, after `check()`: the approval rules of the base branch (read once, in `rules`; their
    problems join a copy of the report), what needs approval, the standing approvals and holds. Returns the gate
    and the snapshot to store once the run id is known."""
    approval_rules, problems = approvals.load_rules(rules.config) if rules.config else ((), [])
    if quiet is None:
        report = report.with_findings(problems)
    keys = [] if quiet is not None or rules.catalog is None else approvals.request_keys(
        trees.base, trees.head, report.judged, rules.catalog)
    deleted = [c.path for c in trees.changed if c.status == "D" and is_request(c.path)]
    old = load_snapshot(ctx, repo, number)
    snap = Snapshot(sha=trees.head_sha, run_id=0, author=author or (old.author if old else ""), base_ref=base_ref,
                    pull_url=pull_url, config=rules.source or "", requests=[(k.env, k.offering, k.path) for k in keys],
                    deleted=deleted, report=report, quiet=quiet)
    state = ctx.audit().state(repo, number)
    snap.valid = sorted(valid_shas(trees.repo, (a.sha for a in state.approvals), trees.head_sha))
    gate = core_gate.evaluate(snap, state, eligibility(inst, repo), rules=approval_rules)
    return gate, snap


def save_snapshot(ctx: Context, repo: str, number: int, snap: Snapshot) -> None:
    ctx.records.set_snapshot(repo, number, snap.dumps())
