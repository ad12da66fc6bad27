"""What publishing decides: why a commit is rendered, what the render commit says, and what came of it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from bot.core.build import Build
from bot.core.catalog import Catalog
from bot.core.layout import RENDER_FORMAT, Plan
from bot.core.paths import request_paths
from bot.core.platform import PlatformConfig
from bot.core.report import Finding

RENDER_LABEL = "pledge-render"


@dataclass(frozen=True)
class MergeInfo:
    """Why we publish: a merged pull request, or a push to the base branch outside any pull request."""

    pr: int | None
    title: str
    author: str
    approvers: tuple[str, ...] = ()
    requests: tuple[str, ...] = ()  # request paths the PR (or push) changed
    merge_sha: str | None = None  # the merge (or pushed) commit
    decisions: tuple[str, ...] = ()  # other audit trailers, e.g. "Held-by: Name <login>", "Unheld-by: ..."

    @classmethod
    def for_push(cls, *, after: str, pusher: str, changed: list[str]) -> MergeInfo:
        """A direct push: rendered like a merge, but it names no PR and no approver (it had no review)."""
        return cls(None, f"push {after[:7]} by {pusher}", pusher, (), request_paths(changed), after)


@dataclass
class Rendering:
    """A render of one commit: its plan, which requests it concerns and how much of the tree was read."""

    base: str
    build: Build
    key: str  # hashes what every rendered folder depends on besides its request: Pledge, catalog, pledge.yaml
    scope: str  # "full", or what Scope.describe() says was rendered
    requests: list[str] = field(default_factory=list)  # requests rendered or removed


@dataclass
class PublishResult:
    """What happened: pushed a render commit, found nothing to do, or pushed a render branch for a PR."""

    status: Literal["pushed", "up-to-date", "render-pr"]
    branch: str
    base: str  # the branch tip that was rendered
    commit: str | None = None
    render_branch: str | None = None
    label: str | None = None  # label for the render PR the caller opens
    written: dict[str, list[str]] = field(default_factory=dict)  # env -> paths written
    removed: dict[str, list[str]] = field(default_factory=dict)  # env -> paths deleted
    requests: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    attempts: int = 0

    @property
    def live_sha(self) -> str:
        """The commit whose application by Flux makes the merge live (a render PR: once it is merged)."""
        return self.commit or self.base


def render_key(config: PlatformConfig, catalog: Catalog) -> str:
    h = hashlib.sha256(f"{RENDER_FORMAT}\0{catalog.digest}\0".encode() + config.source)
    return "sha256:" + h.hexdigest()


def render_branch_name(merged: MergeInfo, tip: str) -> str:
    return f"pledge/render-pr-{merged.pr}" if merged.pr is not None else f"pledge/render-{tip[:12]}"


def commit_message(merged: MergeInfo, rendering: Rendering) -> str:
    """Subject naming the PR, a body listing what was written per environment, and the trailers."""
    what = f"#{merged.pr} {_one(merged.title)}" if merged.pr is not None else _one(merged.title)
    lines = [f"Pledge: render {what}"[:200], ""]
    lines.append(f"Rendered from {rendering.base[:12]} ({rendering.scope}).")
    for env, (written, removed) in sorted(_by_env(rendering.build.plan).items()):
        lines.append(f"{env}: {len(written)} file(s) written, {len(removed)} removed")
    lines.append("")
    lines += [f"Pledge-Request: {p}" for p in sorted(set(merged.requests) | set(rendering.requests))]
    if merged.pr is not None:
        lines.append(f"Pledge-PR: #{merged.pr}")
    else:
        lines.append(f"Pledge-Push: {merged.merge_sha or '-'}")
    lines.append(f"Requested-by: {_one(merged.author)}")
    lines += [f"Approved-by: {_one(a)}" for a in merged.approvers]
    lines += [_one(d) for d in merged.decisions if d.startswith(("Held-by: ", "Unheld-by: "))]
    lines += [f"Pledge-Rendered-From: {rendering.base}", f"Pledge-Render-Key: {rendering.key}"]
    return "\n".join(lines) + "\n"


def _one(text: str) -> str:
    """Subjects and trailers are single lines."""
    return " ".join(str(text).split())


def _by_env(plan: Plan) -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for path in sorted(plan):
        written, removed = out.setdefault(path.split("/")[1], ([], []))
        (removed if plan[path] is None else written).append(path)
    return out


def unchanged_result(status: Literal["up-to-date"], branch: str, rendering: Rendering, attempt: int) -> PublishResult:
    by_env = _by_env(rendering.build.plan)
    return PublishResult(status, branch, rendering.base,
                         written={e: w for e, (w, _r) in by_env.items() if w},
                         removed={e: r for e, (_w, r) in by_env.items() if r},
                         requests=rendering.requests, findings=rendering.build.findings, attempts=attempt)
