"""Every approval, unapproval, hold, unhold and refusal as a record: its kinds, its fold and commit trailers."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.core.approvals import Approval, Hold

KINDS = ("approve", "unapprove", "hold", "unhold", "refuse")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>\u2028\u2029]+")


@dataclass(frozen=True)
class Record:
    """One decision on one pull request. `target`: whose hold an unhold lifts (default the user's own).
    `source`: where it came from ("comment:<id>:<line>"); the same source is recorded once (redeliveries)."""

    repo: str
    pr: int
    kind: str
    user: str
    sha: str
    at: datetime
    reason: str = ""
    target: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown decision kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.at.tzinfo is None:
            raise ValueError("decision times must be timezone-aware (UTC)")


@dataclass(frozen=True)
class State:
    """What the decisions add up to: the standing approval of each user and the holds not lifted."""

    approvals: tuple[Approval, ...]
    holds: tuple[Hold, ...]

    @property
    def holders(self) -> list[str]:
        return [h.user for h in self.holds]


def fold(records: Iterable[Record]) -> State:
    """Replay decisions in order: a user's latest approve stands until their unapprove; a hold until unheld."""
    approvals: dict[str, Approval] = {}
    holds: dict[str, Hold] = {}
    for r in records:
        me = r.user.lower()
        if r.kind == "approve":
            approvals[me] = Approval(r.user, r.sha, r.at, r.reason)
        elif r.kind == "unapprove":
            approvals.pop(me, None)
        elif r.kind == "hold":
            holds[me] = Hold(r.user, r.sha, r.at, r.reason)
        elif r.kind == "unhold":
            holds.pop((r.target or r.user).lower(), None)
    return State(tuple(approvals.values()), tuple(holds.values()))


def trailers(records: Iterable[Record], *, head_sha: str, valid_shas: Collection[str] = (), author: str = "",
             names: Mapping[str, str] | None = None) -> list[str]:
    """Git trailers for the render commit of a merged PR: `Approved-by: Name <login>` for each approval standing
    at the merged head (or a SHA in `valid_shas`), then `Held-by` / `Unheld-by` for every hold placed and lifted.
    Reasons stay in the audit store: free text does not go into commit messages."""
    records = list(records)
    valid = {head_sha, *valid_shas}
    out: list[str] = []
    for a in sorted(fold(records).approvals, key=lambda a: a.at):
        if a.sha in valid and a.user.lower() != author.lower():
            out.append(f"Approved-by: {_person(a.user, names)}")
    for kind, key in (("hold", "Held-by"), ("unhold", "Unheld-by")):
        users = dict.fromkeys(r.user for r in records if r.kind == kind)
        out += [f"{key}: {_person(u, names)}" for u in users]
    return out


def _person(login: str, names: Mapping[str, str] | None) -> str:
    user = _UNSAFE.sub("", login)[:39] or "unknown"
    name = " ".join(_UNSAFE.sub(" ", (names or {}).get(login, "")).split())[:80] or user
    return f"{name} <{user}>"
