"""Orchestration only: read the PR with git, run the core's check, report through the GitHub adapter."""

from __future__ import annotations

import logging
from typing import Any

from bot.adapters.errors import RetryLater
from bot.adapters.github.client import Installation
from bot.adapters.store.records import CommentRef
from bot.app.context import Context
from bot.app.events import EXTERNAL_ID_PREFIX, Event
from bot.app.flows import gate as approving
from bot.core.check import base_rules
from bot.core.commands import BUTTONS
from bot.core.paths import is_relevant, request_paths
from bot.core.report import Conclusion, Report
from bot.present.checkrun import MARKER, cleared_comment, comment_body, failed_output, snapshot_output

log = logging.getLogger("pledge.handlers")



def check_pull_request(ctx: Context, event: Event) -> None:
    """pull_request opened / synchronize / reopened / edited (base changed): check the head commit."""
    pr: dict[str, Any] = dict(event.payload.get("pull_request") or {})
    inst = ctx.installation(event)
    number = event.pr_number
    if inst is None or number is None or event.repo is None:
        return
    if pr.get("state") != "open":
        log.info("%s: pull request is %s; nothing to check", event.describe(), pr.get("state"))
        return
    author = str((pr.get("user") or {}).get("login") or "")
    run_check(ctx, inst, event.repo, number, base_ref=pr["base"]["ref"], head_sha=pr["head"]["sha"],
              new_pull=event.action == "opened", pull_url=_pull_url(event, number), author=author)


def _pull_url(event: Event, number: int) -> str:
    """The PR's page (on github.com or a GHES host), from the payload's repository."""
    repo = event.payload.get("repository")
    base = repo.get("html_url") if isinstance(repo, dict) else None
    return f"{base}/pull/{number}" if isinstance(base, str) else ""


def run_check(
    ctx: Context,
    inst: Installation,
    repo: str,
    number: int,
    *,
    base_ref: str,
    head_sha: str,
    new_pull: bool = False,
    pull_url: str = "",
    author: str = "",
) -> None:
    """The check of one PR head: 1 REST call when no relevant file changed, else create, complete, comment.
    `pull_url` becomes the run's details_url when the conclusion is action_required (GitHub wants one).
    Approvals (flows/gate.py) gate the conclusion; the snapshot commands need later is stored last."""
    if new_pull and ctx.records.comment(repo, number) is None:
        ctx.records.set_comment(repo, number, CommentRef(None))  # we saw it opened: no comment of ours yet
    trees = ctx.mirror.pull_request(repo, inst.token(), number, base_ref, head_sha)
    if trees is None:
        return
    try:
        paths = [c.path for c in trees.changed]
        record_check(ctx, repo, number, paths, opened=new_pull)
        external_id = f"{EXTERNAL_ID_PREFIX}{number}"
        name = ctx.settings.check_name
        rules = base_rules(trees.base)  # pledge.yaml and the catalog of the base, read once for every step
        if not any(is_relevant(p) for p in paths):  # holds still apply: they gate any PR
            gate, snap = approving.check_gate(ctx, inst, repo, number, trees, Report(), rules, author=author,
                                              base_ref=base_ref, pull_url=pull_url, quiet=len(trees.changed))
            details = pull_url if gate.conclusion == Conclusion.ACTION_REQUIRED and pull_url else None
            snap.run_id = inst.create_check_run(repo, name=name, head_sha=trees.head_sha, external_id=external_id,
                                                conclusion=gate.conclusion, output=snapshot_output(snap, gate),
                                                details_url=details)
            sync_comment(ctx, inst, repo, number, comment_body(snap.report, snap.sha, gate=gate), trees.head_sha)
            approving.save_snapshot(ctx, repo, number, snap)
            return
        run_id = inst.create_check_run(repo, name=name, head_sha=trees.head_sha, external_id=external_id)
        try:
            report = ctx.checker(trees.base, trees.head, trees.changed, rules)
            gate, snap = approving.check_gate(ctx, inst, repo, number, trees, report, rules, author=author,
                                              base_ref=base_ref, pull_url=pull_url)
        except RetryLater:
            raise
        except Exception as exc:
            log.exception("%s#%s: the check of %s crashed", repo, number, trees.head_sha)
            inst.complete_check_run(repo, run_id, conclusion=Conclusion.FAILURE,
                                    output=failed_output(f"Pledge hit an internal error ({type(exc).__name__})."))
            return
        snap.run_id = run_id
        details = pull_url if gate.conclusion == Conclusion.ACTION_REQUIRED and pull_url else None
        inst.complete_check_run(repo, run_id, conclusion=gate.conclusion, output=snapshot_output(snap, gate),
                                details_url=details, actions=BUTTONS)
        log.info("%s#%s: %s is %s (%d findings)", repo, number, trees.head_sha[:12], gate.conclusion,
                 len(snap.report.findings))
        sync_comment(ctx, inst, repo, number, comment_body(snap.report, snap.sha, gate=gate), trees.head_sha)
        approving.save_snapshot(ctx, repo, number, snap)
    finally:
        trees.close()


def record_check(ctx: Context, repo: str, number: int, paths: list[str], *, opened: bool) -> None:
    """Time to value: when a PR with requests was opened and (last) checked."""
    requests = request_paths(paths)
    if not requests:
        return
    try:
        store = ctx.history(repo)
        if opened:
            store.record("opened", requests, pr=number)
        store.record("checked", requests, pr=number)
    except Exception:  # history must never break a check
        log.exception("%s#%s: could not record the check in the history", repo, number)


def sync_comment(ctx: Context, inst: Installation, repo: str, number: int, body: str | None, head_sha: str) -> None:
    """The sticky comment says `body`, or that nothing is left to report."""
    if body is None:
        _clear_comment(ctx, inst, repo, number, head_sha)
    else:
        _post_comment(ctx, inst, repo, number, body)


def _post_comment(ctx: Context, inst: Installation, repo: str, number: int, body: str) -> None:
    known = ctx.records.comment(repo, number)
    comment_id = inst.upsert_comment(repo, number, body, marker=MARKER, known_id=known.id if known else None,
                                     may_exist=known is None)
    ctx.records.set_comment(repo, number, CommentRef(comment_id))


def _clear_comment(ctx: Context, inst: Installation, repo: str, number: int, head_sha: str) -> None:
    """A PR that had something to say and no longer has: say so in the same comment (once)."""
    known = ctx.records.comment(repo, number)
    if known is None or known.id is None or known.cleared:
        return
    comment_id = inst.upsert_comment(repo, number, cleared_comment(head_sha), marker=MARKER,
                                     known_id=known.id, may_exist=True)
    ctx.records.set_comment(repo, number, CommentRef(comment_id, cleared=True))


def pull_request_closed(ctx: Context, event: Event) -> None:
    """Closed (merged or not): drop the PR's ref from the mirror. Publishing a merge is its own route."""
    if event.repo and event.pr_number is not None:
        ctx.mirror.forget_pull(event.repo, event.pr_number)
        log.info("%s: closed; mirror ref dropped", event.describe())


def rerun_check_run(ctx: Context, event: Event) -> None:
    """Re-run of the pledge check run: check its commit again (a new run, as GitHub expects)."""
    run: dict[str, Any] = dict(event.payload.get("check_run") or {})
    _rerun(ctx, event, str(run.get("head_sha", "")), run.get("pull_requests") or [])


def rerun_check_suite(ctx: Context, event: Event) -> None:
    """"Re-run all checks" of a suite: check every pull request whose head is the suite's commit."""
    suite: dict[str, Any] = dict(event.payload.get("check_suite") or {})
    _rerun(ctx, event, str(suite.get("head_sha", "")), suite.get("pull_requests") or [])


def _rerun(ctx: Context, event: Event, head_sha: str, pulls: list[dict[str, Any]]) -> None:
    inst = ctx.installation(event)
    if inst is None or event.repo is None or not head_sha:
        return
    targets: list[tuple[int, str]] = [
        (p["number"], p["base"]["ref"]) for p in pulls if isinstance(p, dict) and "base" in p and "number" in p
    ]
    if not targets:  # a fork's PR: GitHub lists none in the event
        numbers = [event.pr_number] if event.pr_number is not None else inst.pulls_for_commit(event.repo, head_sha)
        for number in numbers:
            pull = inst.get_pull(event.repo, number)
            if pull.state == "open":
                targets.append((number, pull.base_ref))
    if not targets:
        log.info("%s: no open pull request has %s; nothing to re-run", event.describe(), head_sha[:12])
    for number, base_ref in targets:
        run_check(ctx, inst, event.repo, number, base_ref=base_ref, head_sha=head_sha,
                  pull_url=_pull_url(event, number))


def log_installation(ctx: Context, event: Event) -> None:
    """installation and installation_repositories: logged (the App needs no state for them)."""
    payload = event.payload
    repos = [r.get("full_name") for key in ("repositories", "repositories_added", "repositories_removed")
             for r in payload.get(key) or [] if isinstance(r, dict)]
    account = (payload.get("installation") or {}).get("account") or {}
    log.info("%s: account %s, repositories %s", event.describe(), account.get("login"), repos)
