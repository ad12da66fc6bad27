"""What a merge is, read with git and the audit store: the paths it changed, its approvers, its render commit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import git

from bot.adapters.errors import GitHubError
from bot.adapters.git.publish import PublishError
from bot.adapters.git.tree import GitTree, changed_files
from bot.adapters.github.client import Installation, Review
from bot.adapters.store.audit import AuditStore
from bot.app.triggers import ZERO_SHA
from bot.core.audit import Record, trailers
from bot.core.paths import needs_render
from bot.core.platform import ConfigError, load_config
from bot.core.publish import PublishResult

log = logging.getLogger("pledge.publishing")


def approvers(data_dir: Path, inst: Installation, bare: git.Repo, repo: str, number: int, head_sha: str,
              author: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Approved-by values, other decision trailers such as Held-by / Unheld-by): the approval flow's records
    (bot.core.audit) standing at the merged head, else the PR's approving reviews (one GET). A failed GET leaves
    them empty rather than blocking the publish."""
    records = AuditStore(data_dir).records(repo, number)
    if records:
        valid = {r.sha for r in records if r.kind == "approve" and _same_inputs(bare, r.sha, head_sha)}
    else:
        try:
            records = _review_records(repo, number, inst.reviews(repo, number))
        except GitHubError as exc:
            log.warning("%s#%s: reviews unavailable (%s); no Approved-by", repo, number, exc.status)
            return (), ()
        valid = {r.sha for r in records}  # GitHub accepted these for the merge (stale ones come DISMISSED)
    lines = trailers(records, head_sha=head_sha, valid_shas=valid, author=author)
    approved = tuple(line.removeprefix("Approved-by: ") for line in lines if line.startswith("Approved-by: "))
    return approved, tuple(line for line in lines if not line.startswith("Approved-by: "))


def _review_records(repo: str, number: int, reviews: list[Review]) -> list[Record]:
    kinds = {"APPROVED": "approve", "CHANGES_REQUESTED": "unapprove", "DISMISSED": "unapprove"}
    return [Record(repo, number, kinds[r.state], r.login, r.commit_id, when(r.submitted_at) or datetime.now(UTC))
            for r in reviews if r.state in kinds and r.login]


def _same_inputs(bare: git.Repo, sha: str, head: str) -> bool:
    """An approval given at `sha` stands at `head` when nothing rendering reads changed in between."""
    if sha == head:
        return True
    try:
        paths = bare.git.diff("--name-only", "-z", sha, head).split("\0")
    except git.GitCommandError:
        return False
    return not needs_render([p for p in paths if p])


def pull_changes(bare: git.Repo, merge_sha: str | None, base_sha: str, head_sha: str) -> list[str]:
    """Paths the merged PR changed: from its fork point off the branch before the merge to its head (merge,
    squash and rebase merges alike); deletions and both sides of a move are included."""
    for before in [f"{merge_sha}^1" if merge_sha else "", base_sha]:
        try:
            changes = changed_files(bare, before, head_sha) if before else None
        except git.GitCommandError:
            changes = None
        if changes is not None:
            return [c.path for c in changes]
    raise PublishError(f"cannot tell what {head_sha[:12]} changed: neither {merge_sha} nor {base_sha} is here")


def push_changes(bare: git.Repo, before: str, after: str) -> list[str] | None:
    if before == ZERO_SHA:
        return None
    try:
        return [p for p in bare.git.diff("--name-only", "-z", before, after).split("\0") if p]
    except git.GitCommandError:  # a force push: `before` is not here
        return None


def is_platform_branch(bare: git.Repo, branch: str) -> bool:
    """Publish only the branch pledge.yaml names (a broken pledge.yaml is publish's error to tell)."""
    try:
        return load_config(GitTree(bare, f"refs/heads/{branch}")).branch == branch
    except ConfigError:
        return True


def covering_render(bare: git.Repo, merge_sha: str, result: PublishResult) -> PublishResult | None:
    """Another job already rendered this merge (a concurrent merge, a replay): the first render commit after
    the merge commit, described like a push of our own."""
    try:
        found = bare.git.rev_list("--ancestry-path", "--reverse", "--grep=^Pledge-Rendered-From: ",
                                  f"{merge_sha}..{result.base}").split()
    except git.GitCommandError:
        return None
    if not found:
        return None
    sha = found[0]
    out = PublishResult("pushed", result.branch, bare.git.rev_parse(f"{sha}^1"), commit=sha,
                        requests=result.requests, findings=result.findings, attempts=result.attempts)
    status_paths = bare.git.diff_tree("-r", "--no-commit-id", "--name-status", "-z", sha).split("\0")
    for status, path in zip(status_paths[0::2], status_paths[1::2], strict=False):
        target = out.removed if status.startswith("D") else out.written
        target.setdefault(path.split("/")[1] if "/" in path else "", []).append(path)
    return out


def when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
