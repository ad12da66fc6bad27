"""A slash command (or button click) being handled: who asked, on which pull request, and what it has done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.adapters.github.client import Installation, PullInfo
from bot.adapters.store.audit import AuditStore
from bot.app.context import Context
from bot.app.flows import gate as approving
from bot.app.flows.check import run_check
from bot.core.authorization import once
from bot.core.gate import Eligible, Snapshot


@dataclass
class Job:
    """One comment (or button click) being handled: who, where, and what it has done so far."""

    ctx: Context
    inst: Installation
    repo: str
    number: int
    user: str
    author: str
    comment_id: int | None  # None for a check-run button
    pull_url: str = ""
    store: AuditStore = field(init=False)
    permission: Callable[[], str] = field(init=False)
    eligible: Eligible = field(init=False)
    replies: list[str] = field(default_factory=list)
    refused: bool = False
    changed: bool = False  # a decision was recorded since the check run and comment were last written
    acked: bool = False
    _pull: PullInfo | None = None

    def __post_init__(self) -> None:
        self.store = self.ctx.audit()
        self.permission = once(lambda: self.inst.role(self.repo, self.user))  # at most one GET per job
        self.eligible = approving.eligibility(self.inst, self.repo)  # one per job: its memo spares GETs

    @property
    def pull(self) -> PullInfo:
        """The pull request as GitHub has it now (head SHA, state, base): one GET per job."""
        if self._pull is None:
            self._pull = self.inst.get_pull(self.repo, self.number)
        return self._pull

    def snapshot(self) -> Snapshot | None:
        return approving.load_snapshot(self.ctx, self.repo, self.number)

    def refuse(self, line: str) -> None:
        self.replies.append(line)
        self.refused = True

    def check(self) -> Snapshot | None:
        """Run the check of the current head inline (issue 4's job); its run and comment include every decision
        recorded so far."""
        pull = self.pull
        run_check(self.ctx, self.inst, self.repo, self.number, base_ref=pull.base_ref, head_sha=pull.head_sha,
                  pull_url=self.pull_url, author=self.author)
        self.changed = False
        return self.snapshot()
