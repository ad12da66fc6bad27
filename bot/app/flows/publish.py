"""Publishing in the App: a merged PR or a push to the base branch is rendered, pushed and told on the PR."""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

import git

from bot.adapters.errors import RetryLater
from bot.adapters.git.publish import PublishRace, ancestry, publish
from bot.adapters.git.remote import GitError, redact
from bot.adapters.github.client import Installation
from bot.adapters.store.history import History, history_rows
from bot.adapters.store.records import PublishStage, PublishState
from bot.app.context import Context
from bot.app.events import Event
from bot.app.flows import merged as facts
from bot.app.triggers import ZERO_SHA
from bot.core.paths import needs_render, request_paths
from bot.core.publish import MergeInfo, PublishResult
from bot.present.publishing import summary

log = logging.getLogger("pledge.publishing")

MARKER = "<!-- pledge:published -->"
PUSH_DELAY = 30.0  # a push waits this long after GitHub received it, so the merged PR's own job renders first
RACE_DELAY = 20.0  # PublishRace: the delivery is tried again after about this long ...
MAX_RACE_ROUNDS = 6  # ... this many times, then it counts as a failure (queue retries, then gives up)
PUBLISH_OPTIONS: dict[str, Any] = {}  # extra keyword arguments for bot.adapters.git.publish.publish (tests: backoff)
_RENDER_PR = re.compile(r"^pledge/render-pr-(\d+)$")


def publish_merge(ctx: Context, event: Event) -> None:
    """pull_request closed with merged: render the base branch, push, and say so on the PR in one comment
    (one REST call; plus one GET of the reviews when the approval flow recorded nothing for the PR)."""
    pr: dict[str, Any] = dict(event.payload.get("pull_request") or {})
    repo, number, inst = event.repo, event.pr_number, ctx.installation(event)
    if repo is None or number is None or inst is None:
        return
    ctx.mirror.forget_pull(repo, number)  # what the generic closed row does for the check mirror
    state_key = f"published:{repo}#{number}"  # names this merge in counters and logs
    state = ctx.records.published(repo, number)
    if state is not None and state.stage == PublishStage.DONE:
        log.info("%s: merge already published (%s); nothing to do", event.describe(), state.encode())
        return
    base, head_sha = str(pr["base"]["ref"]), str(pr["head"]["sha"])
    merge_sha = pr.get("merge_commit_sha") or None
    token, mirror = inst.token(), ctx.publish_mirror()
    pull_ref = f"refs/pull/{number}/head"
    bare = mirror.fetch(repo, token, [f"+refs/heads/{base}:refs/heads/{base}", f"+{pull_ref}:{pull_ref}"])
    try:
        store = ctx.history(repo)
        original = _RENDER_PR.match(str(pr["head"].get("ref") or ""))
        if original:  # a render PR (protected branch) was merged: its original PR's render is now on base
            _render_pull_merged(ctx, store, repo, number, int(original[1]), merge_sha or head_sha)
            return
        changed = facts.pull_changes(bare, merge_sha, str(pr["base"].get("sha") or ""), head_sha)
        if not needs_render(changed) or not facts.is_platform_branch(bare, base):
            log.info("%s: nothing Pledge renders changed on %s", event.describe(), base)
            ctx.records.set_published(repo, number, PublishState(PublishStage.DONE))
            return
        author = str((pr.get("user") or {}).get("login") or "")
        requests = request_paths(changed)
        approved: tuple[str, ...] = ()  # a retry after the render: its commit already carries them
        decisions: tuple[str, ...] = ()
        if state is None:
            approved, decisions = facts.approvers(ctx.settings.data_dir, inst, bare, repo, number, head_sha, author)
        merged = MergeInfo(number, str(pr.get("title") or ""), author, approved, requests, merge_sha, decisions)
        if state is None:
            store.record("merged", requests, pr=number, at=facts.when(pr.get("merged_at")), sha=merge_sha)
        result = _publish(ctx, inst, bare, repo, base, merged, token, state_key, tell=number)
        if result is None:
            return
        if result.status == "up-to-date" and merge_sha:
            result = facts.covering_render(bare, merge_sha, result) or result
        url = f"{_html_url(event, repo)}/commit/{result.live_sha}"
        body = f"{MARKER}\n{summary(result, url)}"
        if result.status == "render-pr":
            body += _render_pull(ctx, inst, repo, base, result, merged)
        if state is None:
            store.record_render(result.live_sha, requests, pr=number, is_ancestor=ancestry(bare))
            ctx.records.set_published(repo, number, PublishState(PublishStage.RENDERED))
        _tell(ctx, inst, repo, number, body)
        mirror.forget_pull(repo, number)  # the merged PR's head is not needed any more
        log.info("%s: %s %s (attempts %d)", event.describe(), result.status, result.live_sha[:12], result.attempts)
    finally:
        bare.close()


def publish_push(ctx: Context, event: Event) -> None:
    """A push to the base branch outside any PR: rendered like a merge (`Pledge-Push`, no `Approved-by`).
    It waits PUSH_DELAY after the push so a merged PR's own job renders first; then it finds the branch
    up to date and does nothing. No REST call unless the branch is protected (render PR)."""
    p = event.payload
    repo, inst = event.repo, ctx.installation(event)
    if repo is None or inst is None:
        return
    pushed_at = (p.get("repository") or {}).get("pushed_at")
    if PUSH_DELAY > 0 and isinstance(pushed_at, int | float) and time.time() < pushed_at + PUSH_DELAY:
        raise RetryLater(pushed_at + PUSH_DELAY - time.time() + 0.5, "waiting for the merged PR's own job")
    branch, after = str(p["ref"]).removeprefix("refs/heads/"), str(p["after"])
    token = inst.token()
    bare = ctx.publish_mirror().fetch(repo, token, [f"+refs/heads/{branch}:refs/heads/{branch}"])
    try:
        changed = facts.push_changes(bare, str(p.get("before") or ZERO_SHA), after)
        if (changed is not None and not needs_render(changed)) or not facts.is_platform_branch(bare, branch):
            log.info("%s: nothing Pledge renders changed", event.describe())
            return
        pusher = str((p.get("pusher") or {}).get("name") or event.sender_login)
        merged = MergeInfo.for_push(after=after, pusher=pusher, changed=changed or [])
        result = _publish(ctx, inst, bare, repo, branch, merged, token, f"push:{repo}@{after}", tell=None)
        if result is None or result.status == "up-to-date":
            log.info("%s: %s was already rendered", event.describe(), after[:12])
            return
        if result.status == "render-pr":
            _render_pull(ctx, inst, repo, branch, result, merged)
        ctx.history(repo).record_render(result.live_sha, merged.requests, pr=None, is_ancestor=ancestry(bare))
        log.info("%s: %s %s", event.describe(), result.status, result.live_sha[:12])
    finally:
        bare.close()


def _publish(ctx: Context, inst: Installation, bare: git.Repo, repo: str, branch: str, merged: MergeInfo,
             token: str, key: str, tell: int | None) -> PublishResult | None:
    """bot.adapters.git.publish.publish with the installation token; a lost race is retried later, other refusals are
    told once on the PR (None), a failed fetch is raised (the queue retries it)."""
    mirror = ctx.publish_mirror()
    env = mirror.git_env(repo, token)
    try:
        fetched = bare.commit(f"refs/heads/{branch}").hexsha  # the mirror fetched it a moment ago
        return publish(bare, remote="origin", branch=branch, merged=merged, git_env=env, fetched=fetched,
                       **PUBLISH_OPTIONS)
    except PublishRace as exc:
        rounds = ctx.journal.incr(f"publish-races:{key}")
        if rounds <= MAX_RACE_ROUNDS:
            raise RetryLater(RACE_DELAY * random.uniform(0.5, 1.5), f"lost the push race {rounds} time(s)") from exc
        raise PublishRace(f"{key}: lost the push race {rounds} times") from None
    except GitError as exc:
        message = redact(str(exc), token, env["GIT_CONFIG_VALUE_0"])
        if message.startswith("git fetch"):
            raise GitError(message) from None
        log.error("%s: publishing failed: %s", key, message)
        if tell is not None and not ctx.records.publish_error_told(key):
            inst.comment(repo, tell, f"{MARKER}\nPledge could not publish this merge to `{branch}`:\n\n"
                         f"```\n{message}\n```\n")
            ctx.records.set_publish_error_told(key)
        return None


def _tell(ctx: Context, inst: Installation, repo: str, number: int, body: str) -> None:
    """The one comment on the merged PR; after a crash mid-way, find it by its marker instead of posting twice."""
    state = ctx.records.published(repo, number)
    if state is not None and state.stage == PublishStage.COMMENTING:
        found = inst.find_comment(repo, number, MARKER)
        if found is not None:
            ctx.records.set_published(repo, number, PublishState(PublishStage.DONE, found))
            return
    ctx.records.set_published(repo, number, PublishState(PublishStage.COMMENTING))
    posted = inst.comment(repo, number, body)
    ctx.records.set_published(repo, number, PublishState(PublishStage.DONE, posted))


def _render_pull(ctx: Context, inst: Installation, repo: str, base: str, result: PublishResult,
                 merged: MergeInfo) -> str:
    """Open (once) the labelled pull request from the render branch; the line telling the merged PR."""
    branch = str(result.render_branch)
    number = ctx.records.render_pull(repo, branch)
    if number is None:
        what = f"#{merged.pr} {merged.title}" if merged.pr is not None else merged.title
        body = (f"`{base}` is protected, so Pledge could not push this render itself. Merge this pull request "
                f"(with a merge commit) to publish it; Flux applies it once it is on `{base}`.\n\n"
                f"{summary(result)}\nAdd the Pledge App to the branch ruleset's bypass list to publish directly "
                "(docs/publishing.md).\n")
        opened = inst.open_render_pull(repo, head=branch, base=base, title=f"Pledge: render {what}",
                                       body=body, label=str(result.label))
        number = str(opened) if opened is not None else "open"
        ctx.records.set_render_pull(repo, branch, number)
    if number.isdigit():
        return f"\nRender pull request: #{number} (label `{result.label}`).\n"
    return f"\nA render pull request from `{branch}` is open (label `{result.label}`).\n"


def _render_pull_merged(ctx: Context, store: History, repo: str, number: int, original: int, live: str) -> None:
    """The merged render PR (`number`) put its original PR's render on the branch: Flux applying `live` makes
    it live."""
    requests = sorted({row["request"] for row in history_rows(store.path, pr=original)})
    if requests and ctx.records.published(repo, number) is None:
        store.record_render(live, requests, pr=original)
    ctx.records.set_published(repo, number, PublishState(PublishStage.DONE))
    log.info("%s: render PR of #%s merged as %s", repo, original, live[:12])


def _html_url(event: Event, repo: str) -> str:
    r = event.payload.get("repository")
    url = r.get("html_url") if isinstance(r, dict) else None
    return url if isinstance(url, str) else f"https://github.com/{repo}"
