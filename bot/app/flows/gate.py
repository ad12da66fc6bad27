"""Approvals in the check flow: rules from the base branch, evaluation, the gated conclusion, the stored snapshot."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import git

from bot.adapters.git.mirror import PullTrees
from bot.adapters.github.client import Installation
from bot.adapters.store.audit import AuditStore
from bot.app.context import Context
from bot.core import approvals
from bot.core.paths import CONFIG_PATH, INPUT_PREFIXES, is_request
from bot.core.platform import ConfigError, parse_config
from bot.core.report import Conclusion, Finding, Report
from bot.core.tree import Tree
from bot.present.checkrun import COMMENT_BUDGET, MARKER, MAX_OUTPUT_CHARS, CheckOutput, cut

ICONS = {"success": "✅", "neutral": "⚠️", "failure": "❌", "action_required": "✋"}
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SUMMARY_ICON = re.compile(r"^\S+ (?=\*\*)")
_HEADING = re.compile(r"^### \S+ Pledge: (.*)$", re.M)
Eligible = Callable[[str, approvals.FromSpec], approvals.Eligibility]


@dataclass
class Snapshot:
    """What the last check of a PR stored, so that commands re-evaluate without git work or a re-render."""

    sha: str
    run_id: int
    author: str = ""
    base_ref: str = ""
    pull_url: str = ""
    config: str = ""  # pledge.yaml of the base commit the check read (its approval rules)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (env, offering, path)
    deleted: list[str] = field(default_factory=list)  # request paths the PR deletes
    valid: list[str] = field(default_factory=list)  # earlier SHAs whose approvals still count (valid_shas)
    findings: list[Finding] = field(default_factory=list)
    report_conclusion: str = Conclusion.SUCCESS
    output: CheckOutput = field(default_factory=lambda: CheckOutput("", ""))  # the run's output before approvals
    comment: str | None = None  # the sticky comment before approvals (None: the report alone says nothing)

    def dumps(self) -> str:
        """Compact text for the journal: JSON, zlib-compressed (the rendered diff in the output compresses well)."""
        data = asdict(self)
        data["output"] = {k: v for k, v in data["output"].items() if k != "annotations"}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return "z:" + base64.b64encode(zlib.compress(raw, 6)).decode()

    @classmethod
    def loads(cls, text: str) -> Snapshot:
        raw = zlib.decompress(base64.b64decode(text[2:])) if text.startswith("z:") else text.encode()
        data: dict[str, Any] = json.loads(raw)
        data["requests"] = [tuple(r) for r in data["requests"]]
        data["findings"] = [Finding(**f) for f in data["findings"]]
        data["output"] = CheckOutput(**data["output"])
        return cls(**data)


def snapshot_key(repo: str, number: int) -> str:
    return f"snapshot:{repo}#{number}"


def load_snapshot(ctx: Context, repo: str, number: int) -> Snapshot | None:
    raw = ctx.journal.get(snapshot_key(repo, number))
    return Snapshot.loads(raw) if raw else None


def rules_of(config_text: str) -> tuple[tuple[approvals.Rule, ...], list[Finding]]:
    """The approval rules of a pledge.yaml; none when it is absent or broken (the check reports that)."""
    if not config_text:
        return (), []
    try:
        return approvals.load_rules(parse_config(config_text.encode()))
    except ConfigError:
        return (), []


def eligibility(inst: Installation, repo: str) -> Eligible:
    """One per job (its memo spares repeated lookups): team membership and collaborator-permission APIs."""
    return approvals.make_is_eligible(permission=lambda user: inst.role(repo, user),
                                      is_member=lambda org, team, user: inst.is_member(org, team, user))


@dataclass(frozen=True)
class Gate:
    """The approval result of one head commit and the conclusion it gives the check run."""

    result: approvals.ApprovalResult
    conclusion: str
    report_conclusion: str

    def output(self, base: CheckOutput) -> CheckOutput:
        """The run's output with the approvals section appended and the title of a blocked run."""
        lines = self.result.lines()
        if not lines and self.conclusion == self.report_conclusion:
            return base
        title = self.result.title() if self.conclusion == Conclusion.ACTION_REQUIRED else base.title
        summary = _SUMMARY_ICON.sub(ICONS.get(self.conclusion, "") + " ", base.summary, count=1)
        summary = cut(summary.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", MAX_OUTPUT_CHARS, "summary")
        return replace(base, title=title[:255], summary=summary)

    def comment(self, base: str | None, head_sha: str) -> str | None:
        """The sticky comment with the approvals section; one is posted when there are approval lines even if
        the report alone has nothing to say."""
        lines = self.result.lines()
        if not lines:
            return base
        icon = ICONS.get(self.conclusion, "")
        if base is None:
            base = f"{MARKER}\n### {icon} Pledge: {self.result.title()}\n\nChecked commit `{head_sha[:12]}`.\n"
        elif self.conclusion != self.report_conclusion:
            heading = self.result.title() if self.conclusion == Conclusion.ACTION_REQUIRED else ""
            base = _HEADING.sub(lambda m: f"### {icon} Pledge: " + (f"{heading} · " if heading else "")
                                + m.group(1), base, count=1)
        return cut(base.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", COMMENT_BUDGET, "comment")


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


def evaluate(snap: Snapshot, store: AuditStore, repo: str, number: int, eligible: Eligible, *,
             extra: Iterable[approvals.Approval] = ()) -> Gate:
    """Evaluate the stored snapshot against the audit trail (plus `extra` approvals not recorded yet)."""
    rules, _ = rules_of(snap.config)
    state = store.state(repo, number)
    result = approvals.evaluate(rules, requests=snap.requests, approvable_findings=approvals.approvable(snap.findings),
                                approvals=[*state.approvals, *extra], head_sha=snap.sha, author=snap.author,
                                is_eligible=eligible, holds=state.holds, valid_shas=set(snap.valid))
    return Gate(result, approvals.conclusion(snap.findings, result), snap.report_conclusion)


def check_gate(ctx: Context, inst: Installation, repo: str, number: int, trees: PullTrees, report: Report, *,
               author: str, base_ref: str, pull_url: str, quiet: bool = False) -> tuple[Gate, Snapshot]:
    """For the check flow, after `check()`: read the rules from the base branch (their problems join the report),
    find what needs approval, evaluate the standing approvals and holds. Returns the gate and the snapshot to
    store once the run id and outputs are known."""
    raw = trees.base.read(CONFIG_PATH)
    config = raw.decode("utf-8", "replace") if raw is not None else ""
    _, problems = rules_of(config)
    if not quiet:
        report.extend(problems)
    keys = [] if quiet else _keys(trees.base, trees.head, report.judged)
    deleted = [c.path for c in trees.changed if c.status == "D" and is_request(c.path)]
    old = load_snapshot(ctx, repo, number)
    snap = Snapshot(sha=trees.head_sha, run_id=0, author=author or (old.author if old else ""), base_ref=base_ref,
                    pull_url=pull_url, config=config, requests=[(k.env, k.offering, k.path) for k in keys],
                    deleted=deleted, findings=list(report.findings), report_conclusion=report.conclusion)
    store = ctx.audit()
    state = store.state(repo, number)
    snap.valid = sorted(valid_shas(trees.repo, (a.sha for a in state.approvals), trees.head_sha))
    return evaluate(snap, store, repo, number, eligibility(inst, repo)), snap


def _keys(base: Tree, head: Tree, paths: list[str]) -> list[approvals.RequestKey]:
    try:
        return approvals.request_keys(base, head, paths)
    except ConfigError:
        return []  # pledge.yaml on the base branch is broken: the check already fails


def save_snapshot(ctx: Context, repo: str, number: int, snap: Snapshot) -> None:
    ctx.journal.put(snapshot_key(repo, number), snap.dumps())
