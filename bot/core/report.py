"""Findings and reports: what every check returns, and the one mapping to a check conclusion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

ERROR = "error"
WARNING = "warning"
NOTICE = "notice"
SEVERITIES = (ERROR, WARNING, NOTICE)


class Conclusion(StrEnum):
    """A check run's conclusion, as GitHub spells it."""

    SUCCESS = "success"
    NEUTRAL = "neutral"  # warnings only: GitHub counts it as passing for required checks, yet shows it
    FAILURE = "failure"
    ACTION_REQUIRED = "action_required"  # passing but for approvals or holds


@dataclass(frozen=True, order=True)
class Finding:
    """One thing worth telling a person, at a place in a file (1-based line and column)."""

    path: str
    line: int
    column: int
    severity: str
    rule: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
        }


def error(path: str, line: int, column: int, rule: str, message: str) -> Finding:
    return Finding(path, line, column, ERROR, rule, message)


def warning(path: str, line: int, column: int, rule: str, message: str) -> Finding:
    return Finding(path, line, column, WARNING, rule, message)


@dataclass(frozen=True)
class FileChange:
    """How one rendered file differs between two states."""

    path: str
    status: str  # added | changed | removed
    diff: str


@dataclass(frozen=True)
class EnvPreview:
    """What a change does to one environment's rendered folder."""

    env: str
    changes: tuple[FileChange, ...]

    def count(self, status: str) -> int:
        return sum(1 for c in self.changes if c.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "added": [c.path for c in self.changes if c.status == "added"],
            "changed": [c.path for c in self.changes if c.status == "changed"],
            "removed": [c.path for c in self.changes if c.status == "removed"],
            "diff": "".join(c.diff for c in self.changes),
        }


@dataclass
class Report:
    """The result of validate, render --check or check: findings plus what would be rendered."""

    findings: list[Finding] = field(default_factory=list)
    preview: list[EnvPreview] = field(default_factory=list)
    judged: list[str] = field(default_factory=list)  # request paths that were judged
    notes: list[str] = field(default_factory=list)  # plain sentences for the summary

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def with_findings(self, findings: Iterable[Finding]) -> Report:
        """A copy with `findings` added; this report stays as it is."""
        return replace(self, findings=[*self.findings, *findings])

    def to_data(self) -> dict[str, Any]:
        """Plain data that from_data turns back into an equal Report (for stored snapshots)."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Report:
        previews = [EnvPreview(p["env"], tuple(FileChange(**c) for c in p["changes"])) for p in data["preview"]]
        return cls([Finding(**f) for f in data["findings"]], previews, list(data["judged"]), list(data["notes"]))

    def sorted_findings(self) -> list[Finding]:
        return sorted(set(self.findings))

    def count(self, severity: str) -> int:
        return sum(1 for f in set(self.findings) if f.severity == severity)

    @property
    def conclusion(self) -> Conclusion:
        """The single mapping to a check conclusion.

        failure: at least one error; neutral: warnings but no error (GitHub counts neutral as
        passing for required checks, yet shows it); success: otherwise.
        """
        if self.count(ERROR):
            return Conclusion.FAILURE
        if self.count(WARNING):
            return Conclusion.NEUTRAL
        return Conclusion.SUCCESS

    def to_json(self) -> dict[str, Any]:
        return {
            "conclusion": self.conclusion,
            "findings": [f.to_json() for f in self.sorted_findings()],
            "summary": {s: self.count(s) for s in SEVERITIES} | {"judged": len(self.judged)},
            "judged": list(self.judged),
            "preview": [p.to_json() for p in self.preview],
            "notes": list(self.notes),
        }
