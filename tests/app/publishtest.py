"""Helpers and fixtures for the publishing tests: a Bot with Flux feedback on, PR merges on the local remote."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from flask.testing import FlaskClient

from bot.adapters.git.mirror import Mirror
from bot.adapters.git.tree import GitTree
from bot.app.context import Context
from bot.app.dispatch import Dispatcher
from bot.app.flows import publish as publishing
from bot.app.settings import Settings
from bot.app.web import create_app
from bot.core.build import render_full
from bot.core.catalog import load_catalog
from bot.core.flux import signature
from bot.core.layout import Plan
from bot.core.platform import load_config
from tests.app.apptest import Bot, make_github, make_queue
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote
from tests.github.fake_git_remote import git as run_git
from tests.github.fake_github import FakeGitHub
from tests.publish.test_flux import event as flux_body

FLUX_SECRET = "flux-token-0123456789abcdef"
REPO = "acme/platform"
__all__ = ["FLUX_SECRET", "REPO", "fast_publishing", "flux_body", "pub"]


def request(name: str, team: str = "payments", size: int = 3) -> str:
    return (f"apiVersion: pledge.dev/v1\nkind: Cache\nmetadata:\n  name: {name}\n  team: {team}\n"
            f"spec:\n  size: {size}\n")


@pytest.fixture(autouse=True)
def fast_publishing(monkeypatch: pytest.MonkeyPatch) -> None:
    """No waiting in tests: push delay and race back-off off (a test that wants them sets them)."""
    monkeypatch.setattr(publishing, "PUSH_DELAY", 0.0)
    monkeypatch.setattr(publishing, "RACE_DELAY", 0.0)
    monkeypatch.setattr(publishing, "PUBLISH_OPTIONS", {"backoff": 0.01})


def make_bot(settings: Settings, fake: FakeGitHub, data_dir: Path | None = None) -> Bot:
    """A Bot whose settings have Flux feedback on (its own data directory when given: another machine)."""
    real = dataclasses.replace(settings, flux_secret=FLUX_SECRET)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        real = dataclasses.replace(real, data_dir=data_dir, queue_url=f"sqlite://{data_dir / 'queue.db'}")
    queue = make_queue(real)
    ctx = Context(real, make_github(real), Mirror(real.data_dir, real.git_url), queue.journal)
    queue.processor = Dispatcher(ctx)
    client: FlaskClient = create_app(real, queue).test_client()
    return Bot(real, queue, client, ctx, fake)


@pytest.fixture
def pub(settings: Settings, fake: FakeGitHub) -> Iterator[Bot]:
    yield make_bot(settings, fake)


def sync(remote: GitRemote) -> None:
    """The work clone's main at the remote's main (Pledge pushes render commits there)."""
    run_git(remote.work, "checkout", "-q", remote.branch)
    run_git(remote.work, "fetch", "-q", "origin")
    run_git(remote.work, "reset", "-q", "--hard", f"origin/{remote.branch}")


def merge_pr(remote: GitRemote, number: int, how: str = "merge", title: str = "change") -> str:
    """Merge the PR's branch into main on the remote as GitHub would (merge commit or squash); its SHA."""
    work, branch = remote.work, remote.branch
    for _ in range(20):  # Pledge may push a render in between: merge again on the new tip
        sync(remote)
        if how == "squash":
            run_git(work, "merge", "-q", "--squash", f"pr-{number}")
            run_git(work, "commit", "-q", "-m", f"{title} (#{number})")
        else:
            run_git(work, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number} from acme/pr-{number}",
                    f"pr-{number}")
        try:
            run_git(work, "push", "-q", "origin", branch)
        except subprocess.CalledProcessError:
            continue
        return run_git(work, "rev-parse", "HEAD")
    raise AssertionError(f"could not merge #{number}")


def open_and_merge(bot: Bot, remote: GitRemote, number: int, files: dict[str, str | None], *,
                   how: str = "merge", check: bool = False, title: str = "Add a request") -> dict[str, Any]:
    """Push the PR (checked first when `check`), merge it on the remote; the merged delivery (not sent)."""
    base = remote.base_sha()
    sync(remote)
    head = remote.push_pr(number, files, message=title)
    if check:
        assert bot.deliver("pull_request", gp.pull_request("opened", number=number, head_sha=head)).status_code == 202
        bot.work()
    merge = merge_pr(remote, number, how, title)
    return gp.merged_pull_request(number=number, head_sha=head, merge_sha=merge, base_sha=base, title=title)


def deliver(bot: Bot, event: str, payload: dict[str, Any], delivery: str | None = None) -> int:
    resp = bot.deliver(event, payload, delivery or str(uuid.uuid4()))
    bot.work()
    return int(resp.status_code)


def post_flux(client: FlaskClient, data: dict[str, Any] | bytes, secret: str | None = FLUX_SECRET,
              repo: str = REPO) -> Any:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "notification-controller/test"}
    if secret is not None:
        headers["X-Signature"] = signature(secret, raw)
    return client.post(f"/flux/{repo}", data=raw, headers=headers)


def tip_message(remote: GitRemote, rev: str = "main") -> str:
    return run_git(remote.bare, "log", "-1", "--format=%B", rev)


def commits(remote: GitRemote, rev: str = "main") -> list[str]:
    return run_git(remote.bare, "rev-list", rev).split()


def drift(bare: Path, rev: str = "refs/heads/main") -> Plan:
    """What `pledge render --check` would report on `rev` (empty when published correctly)."""
    tree = GitTree(git.Repo(bare), rev)
    config = load_config(tree)
    return render_full(tree, config, load_catalog(tree, bundled=config.bundled_catalog)).plan


def rendered(bare: Path, rev: str = "refs/heads/main") -> list[str]:
    return [e.path for e in GitTree(git.Repo(bare), rev).files("environments")]


def protect(remote: GitRemote) -> None:
    """Reject pushes to main the way GitHub does for a protected branch (other branches are fine)."""
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/heads/main ]; then\n"
                    "    echo 'error: GH006: Protected branch update failed for refs/heads/main.' >&2\n"
                    "    echo 'error: Changes must be made through a pull request.' >&2\n"
                    "    exit 1\n  fi\ndone\nexit 0\n")
    hook.chmod(0o755)


def unprotect(remote: GitRemote) -> None:
    (remote.bare / "hooks" / "pre-receive").unlink()
