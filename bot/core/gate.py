"""The approval gate of one checked commit: what the check stored, evaluated against the audit trail."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.core import approvals
from bot.core.audit import State
from bot.core.platform import ConfigError, parse_config
from bot.core.report import Conclusion, Finding, Report

Eligible = Callable[[str, approvals.FromSpec], approvals.Eligibility]


@dataclass
class Snapshot:
    """What the last check of a PR stored, so that commands re-evaluate and re-present it without git work or
    a re-render: the report itself, never text made from it."""

    sha: str
    run_id: int
    author: str = ""
    base_ref: str = ""
    pull_url: str = ""
    config: str = ""  # pledge.yaml of the base commit the check read (its approval rules)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (env, offering, path)
    deleted: list[str] = field(default_factory=list)  # request paths the PR deletes
    valid: list[str] = field(default_factory=list)  # earlier SHAs whose approvals still count (valid_shas)
    report: Report = field(default_factory=Report)
    quiet: int | None = None  # the PR changes this many files, none of them Pledge's business

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    def dumps(self) -> str:
        """Compact text for the journal: JSON, zlib-compressed (the rendered diff compresses well)."""
        raw = json.dumps(asdict(self), separators=(",", ":")).encode()
        return "z:" + base64.b64encode(zlib.compress(raw, 6)).decode()

    @classmethod
    def loads(cls, text: str) -> Snapshot:
        raw = zlib.decompress(base64.b64decode(text[2:])) if text.startswith("z:") else text.encode()
        data: dict[str, Any] = json.loads(raw)
        data["requests"] = [tuple(r) for r in data["requests"]]
        data["report"] = Report.from_data(data["report"])
        return cls(**data)


@dataclass(frozen=True)
class Gate:
    """The approval result of one head commit and the conclusion it gives the check run."""

    result: approvals.ApprovalResult
    conclusion: Conclusion
    report_conclusion: Conclusion


def rules_of(config_text: str) -> tuple[tuple[approvals.Rule, ...], list[Finding]]:
    """The approval rules of a pledge.yaml and their problems; none when it is absent or broken (the check
    reports a broken pledge.yaml itself)."""
    if not config_text:
        return (), []
    try:
        return approvals.load_rules(parse_config(config_text.encode()))
    except ConfigError:
        return (), []


def evaluate(snap: Snapshot, state: State, eligible: Eligible, *, rules: tuple[approvals.Rule, ...] | None = None,
             extra: Iterable[approvals.Approval] = ()) -> Gate:
    """The gate of the stored snapshot given the audit trail's `state` (plus `extra` approvals not recorded
    yet). `rules` spares parsing the snapshot's pledge.yaml again when the caller has them."""
    if rules is None:
        rules, _ = rules_of(snap.config)
    findings = snap.report.findings
    result = approvals.evaluate(rules, requests=snap.requests, approvable_findings=approvals.approvable(findings),
                                approvals=[*state.approvals, *extra], head_sha=snap.sha, author=snap.author,
                                is_eligible=eligible, holds=state.holds, valid_shas=set(snap.valid))
    return Gate(result, approvals.conclusion(findings, result), snap.report.conclusion)
