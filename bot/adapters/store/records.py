"""Typed records in the journal's key-value table: each kind of state the flows keep, with explicit kinds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from bot.adapters.store.journal import Journal


class Kind(StrEnum):
    """The first part of a record's name; the journal's retention applies per kind."""

    COMMENT = "comment"  # the PR's sticky comment
    SNAPSHOT = "snapshot"  # what the last check of a PR stored (bot.core.gate.Snapshot)
    PUBLISHED = "published"  # how far publishing a merged PR got
    INSTALLATION = "installation"  # the installation a repository was last seen through (kept forever)
    PUBLISH_ERROR = "publish-error"  # a publishing failure was told on the PR
    RENDER_PR = "render-pr"  # the render pull request opened for a protected branch
    FLUX_OUTBOX = "flux-outbox"  # comments a Flux event owes to PRs
    FLUX_SENT = "flux-sent"  # one of those comments was posted


NEVER_EXPIRE = (Kind.INSTALLATION,)


@dataclass(frozen=True)
class CommentRef:
    """The sticky comment: its id (None: the PR has none, we saw it opened) and whether it says "all clear"."""

    id: int | None
    cleared: bool = False

    def encode(self) -> str:
        return "none" if self.id is None else f"{self.id}{':cleared' if self.cleared else ''}"

    @classmethod
    def decode(cls, text: str) -> CommentRef:
        if text == "none":
            return cls(None)
        number, _, flag = text.partition(":")
        return cls(int(number), flag == "cleared")


class PublishStage(StrEnum):
    RENDERED = "rendered"  # the render commit is pushed and recorded
    COMMENTING = "commenting"  # the PR comment may or may not be posted (a crash in between)
    DONE = "done"


@dataclass(frozen=True)
class PublishState:
    stage: PublishStage
    comment_id: int | None = None

    def encode(self) -> str:
        return self.stage if self.comment_id is None else f"{self.stage}:{self.comment_id}"

    @classmethod
    def decode(cls, text: str) -> PublishState:
        stage, _, comment = text.partition(":")
        return cls(PublishStage(stage), int(comment) if comment.isdigit() else None)


def name(kind: Kind, *parts: str) -> str:
    return ":".join((kind, *parts))


def pull(repo: str, number: int) -> str:
    return f"{repo}#{number}"


class Records:
    """The flows' state, each kind read and written through one typed pair of methods."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def _get(self, kind: Kind, *parts: str) -> str | None:
        return self.journal.get(name(kind, *parts))

    def _put(self, kind: Kind, value: str, *parts: str) -> None:
        self.journal.put(name(kind, *parts), value)

    def comment(self, repo: str, number: int) -> CommentRef | None:
        raw = self._get(Kind.COMMENT, pull(repo, number))
        return CommentRef.decode(raw) if raw is not None else None

    def set_comment(self, repo: str, number: int, ref: CommentRef) -> None:
        self._put(Kind.COMMENT, ref.encode(), pull(repo, number))

    def snapshot(self, repo: str, number: int) -> str | None:
        return self._get(Kind.SNAPSHOT, pull(repo, number))

    def set_snapshot(self, repo: str, number: int, text: str) -> None:
        self._put(Kind.SNAPSHOT, text, pull(repo, number))

    def published(self, repo: str, number: int) -> PublishState | None:
        raw = self._get(Kind.PUBLISHED, pull(repo, number))
        return PublishState.decode(raw) if raw is not None else None

    def set_published(self, repo: str, number: int, state: PublishState) -> None:
        self._put(Kind.PUBLISHED, state.encode(), pull(repo, number))

    def installation(self, repo: str) -> int | None:
        raw = self._get(Kind.INSTALLATION, repo)
        return int(raw) if raw and raw.isdigit() else None

    def set_installation(self, repo: str, installation_id: int) -> None:
        if self.installation(repo) != installation_id:
            self._put(Kind.INSTALLATION, str(installation_id), repo)

    def publish_error_told(self, key: str) -> bool:
        return self._get(Kind.PUBLISH_ERROR, key) is not None

    def set_publish_error_told(self, key: str) -> None:
        self._put(Kind.PUBLISH_ERROR, "told", key)

    def render_pull(self, repo: str, branch: str) -> str | None:
        """The render PR's number, or "open" when GitHub said one from the branch was already open."""
        return self._get(Kind.RENDER_PR, repo, branch)

    def set_render_pull(self, repo: str, branch: str, number: str) -> None:
        self._put(Kind.RENDER_PR, number, repo, branch)

    def flux_outbox(self, delivery_id: str) -> dict[int, str] | None:
        raw = self._get(Kind.FLUX_OUTBOX, delivery_id)
        return {int(pr): text for pr, text in json.loads(raw).items()} if raw is not None else None

    def set_flux_outbox(self, delivery_id: str, texts: dict[int, str]) -> None:
        self._put(Kind.FLUX_OUTBOX, json.dumps({str(pr): t for pr, t in texts.items()}), delivery_id)

    def flux_sent(self, delivery_id: str, pr: int) -> bool:
        return self._get(Kind.FLUX_SENT, delivery_id, str(pr)) is not None

    def set_flux_sent(self, delivery_id: str, pr: int) -> None:
        self._put(Kind.FLUX_SENT, "1", delivery_id, str(pr))
