"""What every flow works with in a worker process: settings, the GitHub App, the git mirrors and the stores."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.adapters.git.mirror import Mirror
from bot.adapters.github.auth import GitHubApp
from bot.adapters.github.client import Installation
from bot.adapters.store.audit import AuditStore
from bot.adapters.store.history import History
from bot.adapters.store.journal import Journal
from bot.adapters.store.records import Records
from bot.app.events import Event
from bot.app.settings import Settings
from bot.core.check import BaseRules, check
from bot.core.report import Report
from bot.core.tree import Change, Tree

log = logging.getLogger("pledge.context")

Checker = Callable[[Tree, Tree, Sequence[Change], BaseRules], Report]


@dataclass
class Context:
    """One per worker process; flows receive it with each delivery."""

    settings: Settings
    github: GitHubApp
    mirror: Mirror
    journal: Journal
    checker: Checker = field(default=check)

    @classmethod
    def from_settings(cls, settings: Settings, journal: Journal) -> Context:
        github = GitHubApp(settings.app_id, settings.private_key, settings.github_api_url,
                           throttle=settings.github_throttle != "off")
        return cls(settings, github, Mirror(settings.data_dir, settings.git_url), journal)

    @property
    def records(self) -> Records:
        """The flows' typed state in the journal."""
        return Records(self.journal)

    def publish_mirror(self) -> Mirror:
        """A second set of bare mirrors, so check fetches and publish fetches never contend for one repository."""
        return Mirror(self.settings.data_dir / "publish", self.settings.git_url)

    def history(self, repo: str) -> History:
        """The time-to-value store of one repository (render commits and environments are per repository)."""
        self.mirror.path(repo)  # checks the name
        owner, name = repo.split("/")
        return History(self.settings.data_dir / "history" / owner / name)

    def audit(self) -> AuditStore:
        return AuditStore(self.settings.data_dir)

    def installation(self, event: Event) -> Installation | None:
        """The installation a GitHub delivery came through (remembered per repository for Flux events, which
        carry none); None, logged, for a payload without one."""
        if event.installation_id is None or event.repo is None:
            log.warning("%s: no installation or repository in the payload; is this an App delivery?",
                        event.describe())
            return None
        self.records.set_installation(event.repo, event.installation_id)
        return self.github.installation(event.installation_id)

    def installation_of(self, repo: str) -> Installation | None:
        """The installation last seen for `repo` (Flux events carry none)."""
        known = self.records.installation(repo)
        return self.github.installation(known) if known is not None else None
