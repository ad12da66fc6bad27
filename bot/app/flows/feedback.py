"""Flux feedback in the worker: settle pending renders from one notification-controller event, tell the PRs."""

from __future__ import annotations

import logging
from collections.abc import Callable

import git

from bot.adapters.git.mirror import MirrorError
from bot.adapters.git.publish import ancestry
from bot.adapters.git.tree import has_commit
from bot.app.context import Context
from bot.app.events import Event
from bot.core.flux import FluxEvent, comments, parse_event, revision_sha

log = logging.getLogger("pledge.feedback")


def flux_event(ctx: Context, event: Event) -> None:
    """A Flux event queued by POST /flux/<owner>/<repo>: fetch the reported commit into the publish mirror
    (so ancestry can be judged), settle the pending renders it covers (the history, once per render and
    reason), then post one comment per pull request. The comments to post are kept in the journal first,
    so a retry after a failed POST posts what is missing and nothing twice."""
    repo = event.repo
    if repo is None:
        return
    saved = ctx.records.flux_outbox(event.delivery_id)
    if saved is None:
        ev = parse_event(str(event.payload.get("body") or ""))
        is_ancestor, bare = _ancestry(ctx, repo, ev)
        try:
            outcomes = ctx.history(repo).handle(ev, is_ancestor)
        finally:
            if bare is not None:
                bare.close()
        texts = comments(outcomes)
        log.info("%s: %s %s in %s settles %d render(s)", repo, ev.reason, (ev.sha or "?")[:12], ev.env,
                 len(outcomes))
        if not texts:
            return
        saved = texts
        ctx.records.set_flux_outbox(event.delivery_id, saved)
    inst = ctx.installation_of(repo)
    if inst is None:
        log.warning("%s: no installation known for the repository; Flux feedback not posted", repo)
        return
    for pr, text in sorted(saved.items()):
        if not ctx.records.flux_sent(event.delivery_id, pr):
            inst.comment(repo, pr, text)
            ctx.records.set_flux_sent(event.delivery_id, pr)


def _ancestry(ctx: Context, repo: str, ev: FluxEvent) -> tuple[Callable[[str, str], bool], git.Repo | None]:
    """is_ancestor on the publish mirror, after fetching the reported commit's branch when it is not there.
    Without a mirror (nothing was ever published from this data directory) only equal commits match."""
    mirror = ctx.publish_mirror()
    path = mirror.path(repo)
    if not (path / "HEAD").exists() or ev.sha is None:
        return (lambda render, reported: render == reported), None
    bare = git.Repo(path)
    if not has_commit(bare, ev.sha):
        branch = _branch(ev)
        inst = ctx.installation_of(repo)
        if branch and inst is not None:
            try:
                bare.close()
                bare = mirror.fetch(repo, inst.token(), [f"+refs/heads/{branch}:refs/heads/{branch}"])
            except MirrorError as exc:
                log.warning("%s: %s; judging the event with what the mirror has", repo, exc)
                bare = git.Repo(path)
    return ancestry(bare), bare


def _branch(ev: FluxEvent) -> str | None:
    """The branch in Flux's revision (`main@sha1:<sha>`, `refs/heads/main@sha1:<sha>`), if it names one."""
    for revision in (ev.origin_revision, ev.revision):
        if revision and revision_sha(revision) and "@" in revision:
            name = revision.rsplit("@", 1)[0].removeprefix("refs/heads/")
            if name and not name.startswith("-") and ".." not in name:
                return name
    return None
