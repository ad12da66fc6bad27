"""approve, unapprove, hold and unhold: decisions recorded in the audit store, bound to the commit Pledge checked."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.flows import gate as approving
from bot.app.flows.job import Job
from bot.core import approvals
from bot.core.audit import Record
from bot.core.authorization import unhold_targets
from bot.core.commands import Command

DECISIONS = frozenset({"approve", "unapprove", "hold", "unhold"})


def record_refusal(job: Job, line: str, source: str) -> None:
    """A refused decision is part of the trail too (its reason is the refusal line)."""
    snap = job.snapshot()
    job.store.add(Record(job.repo, job.number, "refuse", job.user, snap.sha if snap else "", datetime.now(UTC),
                         line, source=source))


def run(job: Job, cmd: Command, source: str) -> None:
    """Record one decision. Approvals and holds bind to the SHA of the stored check (what the person saw), not
    to whatever the head is now: a push racing the comment must not be covered silently."""
    snap = job.snapshot()
    if snap is None:  # never checked here (new install, lost data dir): check first so there is a commit to bind
        snap = job.check()
    if snap is None:
        job.refuse(f"@{job.user}: Pledge could not check this pull request yet; try again once the check completes")
        return
    now = datetime.now(UTC)
    state = job.store.state(job.repo, job.number)
    me = job.user.lower()

    def add(kind: str, reason: str = "", target: str = "") -> bool:
        return job.store.add(Record(job.repo, job.number, kind, job.user, snap.sha, now, reason, target, source))

    if cmd.verb == "approve":
        new = approvals.Approval(job.user, snap.sha, now, cmd.reason)
        gate = approving.evaluate(job.store, snap, job.repo, job.number, job.eligible, extra=[new])
        line = gate.result.refusal(job.user)
        if line:
            add("refuse", line)
            job.refuse(line)
        else:
            job.changed = add("approve", cmd.reason) or job.changed
    elif cmd.verb == "unapprove":
        had = any(a.user.lower() == me for a in state.approvals)
        job.changed = (add("unapprove", cmd.reason) and had) or job.changed
    elif cmd.verb == "hold":
        job.changed = add("hold", cmd.reason) or job.changed
    elif cmd.verb == "unhold":
        targets = unhold_targets(state.holders, user=job.user, permission=job.permission)
        if not targets:
            job.replies.append(f"@{job.user}: there is no hold of yours to lift")
        for holder in targets:
            job.changed = add("unhold", cmd.reason, holder) or job.changed
