"""Slash commands and check-run buttons: triage, parse, authorize, run each verb, then one reply and one reaction."""

from __future__ import annotations

import logging
from typing import Any

from bot.app.context import Context
from bot.app.events import Event
from bot.app.flows import decide as deciding
from bot.app.flows import gate as approving
from bot.app.flows import preview as previewing
from bot.app.flows import promote as promoting
from bot.app.flows.check import sync_comment
from bot.app.flows.job import Job
from bot.core import approvals
from bot.core.authorization import Refused, authorize, triage
from bot.core.commands import (
    BUTTONS,
    REACT_DONE,
    REACT_RECEIVED,
    REACT_REFUSED,
    Command,
    Ignore,
    Reply,
    from_action,
    help_text,
    parse,
)
from bot.core.gate import Snapshot, rules_of
from bot.core.report import Conclusion
from bot.present.checkrun import comment_body, snapshot_output

log = logging.getLogger("pledge.commands")


def on_command_comment(ctx: Context, event: Event) -> None:
    """issue_comment.created on a pull request: run its commands (docs/commands.md, "Wiring")."""
    payload = event.payload
    slug = ctx.settings.app_slug
    verdict = triage(payload, app_slug=slug)
    if verdict.verdict == "ignore" or event.repo is None or event.pr_number is None:
        log.info("%s: ignored (%s)", event.describe(), verdict.why or "no pull request")
        return
    comment: dict[str, Any] = dict(payload.get("comment") or {})
    parsed = parse(str(comment.get("body") or ""), app_slug=slug)
    if isinstance(parsed, Ignore) or event.installation_id is None:
        return
    issue: dict[str, Any] = dict(payload.get("issue") or {})
    job = Job(ctx, ctx.github.installation(event.installation_id), event.repo, event.pr_number,
              user=str((comment.get("user") or {}).get("login") or ""),
              author=str((issue.get("user") or {}).get("login") or ""), comment_id=int(comment["id"]),
              pull_url=_pull_url(payload, event.pr_number))
    if isinstance(parsed, Reply):
        job.inst.comment(job.repo, job.number, parsed.text)
        job.inst.react(job.repo, int(comment["id"]), REACT_DONE if parsed.kind == "help" else REACT_REFUSED)
        return
    commands = list(parsed.commands)
    if verdict.verdict == "closed":
        runnable = [c for c in commands if verdict.merged and c.spec.on_merged]
        if len(runnable) < len(commands):
            job.refuse(f"@{job.user}: {verdict.why}")
        commands = runnable
    if parsed.notice:
        job.replies.append(parsed.notice)
    for cmd in commands:
        run_command(job, cmd, source=f"comment:{comment['id']}:{cmd.line}")
    finish(job)


def on_check_button(ctx: Context, event: Event) -> None:
    """check_run.requested_action: a click on Re-run or Preview runs that command for the sender."""
    payload = event.payload
    action = payload.get("requested_action")
    cmd = from_action(str(action.get("identifier", ""))) if isinstance(action, dict) else None
    if cmd is None or event.repo is None or event.pr_number is None or event.installation_id is None:
        log.info("%s: not a Pledge button", event.describe())
        return
    if event.sender_is_bot:
        return
    snap = approving.load_snapshot(ctx, event.repo, event.pr_number)
    job = Job(ctx, ctx.github.installation(event.installation_id), event.repo, event.pr_number,
              user=event.sender_login, author=snap.author if snap else "", comment_id=None,
              pull_url=snap.pull_url if snap else _pull_url(payload, event.pr_number))
    if not job.author:
        job.author = job.pull.author
    if job.pull.state != "open":
        job.refuse(f"@{job.user}: this pull request is closed; its check is no longer run")
    else:
        run_command(job, cmd, source=f"action:{event.delivery_id}")
    finish(job)


def run_command(job: Job, cmd: Command, *, source: str) -> None:
    """Authorize one command for the job's user and run it; refusals and failures become reply lines."""
    state = job.store.state(job.repo, job.number)
    why = authorize(cmd, user=job.user, author=job.author, permission=job.permission, holders=state.holders)
    if why:
        if cmd.verb in deciding.DECISIONS:
            deciding.record_refusal(job, why, source)
        job.refuse(why)
        return
    if cmd.verb == "help":
        snap = job.snapshot()
        rules, _ = rules_of(snap.config if snap else "")
        job.replies.append(help_text(job.ctx.settings.app_slug, approvals.describe_rules(rules)))
        return
    _ = job.pull  # read the head before acting (one GET per job): the SHA a decision is compared with
    if cmd.spec.ack and job.comment_id is not None and not job.acked:
        job.inst.react(job.repo, job.comment_id, REACT_RECEIVED)
        job.acked = True
    try:
        if cmd.verb == "check":
            job.check()
        elif cmd.verb == "preview":
            previewing.run(job, cmd.env)
        elif cmd.verb == "promote":
            promoting.run(job, cmd.env or "")
        else:
            deciding.run(job, cmd, source)
    except Refused as exc:
        job.refuse(f"@{job.user}: {exc}")


def finish(job: Job) -> None:
    """Re-evaluate once if a decision changed (and Pledge checked the current head), then one reply, one reaction."""
    if job.changed and job._pull is not None:
        snap = job.snapshot()
        if snap is None or snap.sha != job.pull.head_sha:
            log.info("%s#%s: head moved to %s after the check; the pending check job re-evaluates",
                     job.repo, job.number, job.pull.head_sha[:12])
        else:
            refresh(job, snap)
    if job.replies:
        job.inst.comment(job.repo, job.number, "\n\n".join(job.replies))
    if job.comment_id is not None:
        job.inst.react(job.repo, job.comment_id, REACT_REFUSED if job.refused else REACT_DONE)


def refresh(job: Job, snap: Snapshot) -> None:
    """The stored run and sticky comment, re-evaluated from the snapshot: one PATCH each, no git, no render."""
    gate = approving.evaluate(job.store, snap, job.repo, job.number, job.eligible)
    details = (snap.pull_url or None) if gate.conclusion == Conclusion.ACTION_REQUIRED else None
    job.inst.update_run(job.repo, snap.run_id, conclusion=gate.conclusion, output=snapshot_output(snap, gate),
                        actions=BUTTONS, details_url=details)
    sync_comment(job.ctx, job.inst, job.repo, job.number, comment_body(snap.report, snap.sha, gate=gate), snap.sha)


def _pull_url(payload: Any, number: int) -> str:
    repo = payload.get("repository")
    base = repo.get("html_url") if isinstance(repo, dict) else None
    return f"{base}/pull/{number}" if isinstance(base, str) else ""
