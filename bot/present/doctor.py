"""`pledge doctor`'s lines: one per check, ✓ or ✗, what was found and, for a problem, what to do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OK, BAD = "✓", "✗"


@dataclass(frozen=True)
class Check:
    """One finding of the doctor: `subject` is what was checked, `detail` what was found (and the fix)."""

    ok: bool
    subject: str
    detail: str


def line(check: Check) -> str:
    return f"{OK if check.ok else BAD} {check.subject}: {check.detail}"


def render(checks: Sequence[Check]) -> str:
    failed = sum(1 for c in checks if not c.ok)
    verdict = "everything Pledge needs is in place" if not failed else f"{failed} problem(s) to fix"
    return "".join(line(c) + "\n" for c in checks) + verdict + "\n"
