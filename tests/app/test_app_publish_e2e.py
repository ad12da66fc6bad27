"""End to end: a merged PR through gunicorn and a worker process to a render commit, then Flux says it is live."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.flows.publish import MARKER
from bot.app.settings import Settings
from bot.core.flux import signature
from tests.app.apptest import process_env
from tests.app.live import LiveApp, wait_until
from tests.app.publishtest import FLUX_SECRET, REPO, commits, flux_body, merge_pr, request, sync, tip_message
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote
from tests.github.fake_github import FakeGitHub

pytestmark = pytest.mark.e2e


@pytest.fixture
def github(github_server: FakeGitHub) -> FakeGitHub:
    return github_server


@pytest.fixture
def live(settings: Settings, github: FakeGitHub, tmp_path: Path) -> Iterator[LiveApp]:
    real = dataclasses.replace(settings, github_api_url=github.base_url)
    env = process_env(real, PLEDGE_FLUX_SECRET=FLUX_SECRET)
    with LiveApp(env, tmp_path / "logs", gunicorn_args=("--workers", "2")) as app:
        app.start_web()
        app.start_worker()
        yield app
        logs = app.logs_text()
    assert FLUX_SECRET not in logs and real.webhook_secret not in logs
    assert not any(token in logs for token in github.tokens), "an installation token was logged"


def test_merge_to_render_commit_to_applied_in_dev(live: LiveApp, github: FakeGitHub, remote: GitRemote) -> None:
    base = remote.base_sha()
    sync(remote)
    head = remote.push_pr(7, {"requests/dev/payments/orders.yaml": request("orders")}, message="Add orders")
    merge = merge_pr(remote, 7, title="Add orders")
    github.add_review(REPO, 7, "bob")
    payload = gp.merged_pull_request(number=7, head_sha=head, merge_sha=merge, base_sha=base, title="Add orders")
    assert live.deliver("pull_request", payload, "e2e-merge")[0] == 202

    def published() -> list[str]:
        return [c["body"] for c in github.comments_on(REPO, 7) if c["body"].startswith(MARKER)]

    wait_until(published, 60, "the merged PR's comment")
    render = commits(remote)[0]
    assert render != merge and "Approved-by: bob <bob>" in tip_message(remote)
    assert f"/commit/{render}" in published()[0]
    assert [c.op_id for c in github.rest_calls()] == ["pulls/list-reviews", "issues/create-comment"]

    body = json.dumps(flux_body(sha=render, at="2026-11-26T22:53:02Z")).encode()
    headers = {"Content-Type": "application/json", "X-Signature": signature(FLUX_SECRET, body)}
    assert live.request("POST", f"/flux/{REPO}", body, headers) == (202, {"status": "queued"})
    assert live.request("POST", f"/flux/{REPO}", body, {"Content-Type": "application/json"})[0] == 401

    def applied() -> list[str]:
        return [c["body"] for c in github.comments_on(REPO, 7) if c["body"].startswith("Applied in dev")]

    wait_until(applied, 60, "the Flux feedback comment")
    assert applied() == [f"Applied in dev at 2026-11-26 22:53:02 UTC (Flux revision `main@sha1:{render}`)."]
