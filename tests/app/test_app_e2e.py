"""End to end: gunicorn and a worker process, the fake GitHub over HTTP, a local bare git remote."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.settings import Settings
from tests.app.apptest import process_env
from tests.app.live import LiveApp, wait_until
from tests.app.test_app_flow import BAD, GOOD
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote
from tests.github.fake_github import FakeGitHub

pytestmark = pytest.mark.e2e
REQ = "requests/dev/payments/orders.yaml"


@pytest.fixture
def github(github_server: FakeGitHub) -> FakeGitHub:
    return github_server


@pytest.fixture
def live(settings: Settings, github: FakeGitHub, tmp_path: Path) -> Iterator[LiveApp]:
    real = dataclasses.replace(settings, github_api_url=github.base_url)
    with LiveApp(process_env(real), tmp_path / "logs", gunicorn_args=("--workers", "2")) as app:
        app.start_web()
        yield app
        logs = app.logs_text()
    assert real.webhook_secret not in logs and "PRIVATE KEY" not in logs
    assert not any(token in logs for token in github.tokens), "an installation token was logged"


def completed(github: FakeGitHub, sha: str) -> bool:
    return any(r["status"] == "completed" for r in github.runs_for(sha))


def test_signed_delivery_to_check_run_and_comment(live: LiveApp, github: FakeGitHub, remote: GitRemote) -> None:
    live.start_worker()
    sha = remote.push_pr(7, {REQ: BAD})
    status, answer = live.deliver("pull_request", gp.pull_request("opened", head_sha=sha), "e2e-1")
    assert (status, answer) == (202, {"status": "queued"})
    wait_until(lambda: completed(github, sha) and github.comments_on("acme/platform", 7), 60, "check run and comment")
    (run,) = github.runs_for(sha)
    assert run["conclusion"] == "failure"
    assert {(a["path"], a["start_line"]) for a in run["annotations"]} >= {(REQ, 7)}
    (comment,) = github.comments_on("acme/platform", 7)
    assert comment["body"].startswith("<!-- pledge:summary -->") and "orders.yaml:7" in comment["body"]

    # a push fixes it: a new run, and the same comment edited in place
    sha2 = remote.push_pr(7, {REQ: GOOD}, from_base=False)
    assert live.deliver("pull_request", gp.pull_request("synchronize", head_sha=sha2), "e2e-2")[0] == 202
    wait_until(lambda: completed(github, sha2) and "will create" in github.comments_on("acme/platform", 7)[0]["body"],
               60, "second check")
    assert github.runs_for(sha2)[0]["conclusion"] == "success"
    assert len(github.comments_on("acme/platform", 7)) == 1
    assert len([c for c in github.calls if c.is_token]) == 1, "the installation token is cached"

    # the same delivery again (a manual redelivery): acknowledged, not processed twice
    assert live.deliver("pull_request", gp.pull_request("synchronize", head_sha=sha2), "e2e-2") == \
        (200, {"status": "duplicate"})
    time.sleep(1.0)
    assert len(github.runs_for(sha2)) == 1

    # unsigned and malformed deliveries never reach the queue
    assert live.request("POST", "/webhook", b"{}", {"X-GitHub-Event": "pull_request",
                                                      "X-GitHub-Delivery": "x"})[0] == 401
    assert live.deliver("pull_request", b"{nope", "e2e-3")[0] == 400
    assert live.request("GET", "/readyz")[0] == 200


def test_worker_killed_after_the_ack_processes_after_restart(live: LiveApp, github: FakeGitHub,
                                                            remote: GitRemote) -> None:
    worker = live.start_worker()
    time.sleep(0.5)
    live.kill_worker(worker)  # the worker is gone; GitHub's delivery is still acknowledged and kept
    sha = remote.push_pr(8, {REQ: GOOD})
    assert live.deliver("pull_request", gp.pull_request("opened", number=8, head_sha=sha), "e2e-kill")[0] == 202
    time.sleep(1.0)
    assert github.runs_for(sha) == []
    live.start_worker()
    wait_until(lambda: completed(github, sha) and github.comments_on("acme/platform", 8), 60, "after restart")
    assert github.runs_for(sha)[0]["conclusion"] == "success"


def test_github_502s_during_the_job_are_retried(live: LiveApp, github: FakeGitHub, remote: GitRemote) -> None:
    github.fail("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 502, times=2)
    live.start_worker()
    sha = remote.push_pr(9, {REQ: GOOD})
    live.deliver("pull_request", gp.pull_request("opened", number=9, head_sha=sha), "e2e-502")
    wait_until(lambda: completed(github, sha), 60, "check run completed despite 502s")
    statuses = [c.status for c in github.calls if c.op_id == "checks/update"]
    assert statuses[:3] == [502, 502, 200]


def test_pledge_serve_runs_web_and_worker_in_one_process(settings: Settings, github: FakeGitHub,
                                                         remote: GitRemote, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.app.live import free_port

    real = dataclasses.replace(settings, github_api_url=github.base_url)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-c", f"from bot.app.serve import serve; serve('127.0.0.1', {port})"],
                            env=process_env(real), stdout=log, stderr=subprocess.STDOUT)
    try:
        app = LiveApp(process_env(real), tmp_path / "unused")
        app.port = port
        wait_until(lambda: _up(app), 30, "pledge serve")
        sha = remote.push_pr(11, {REQ: GOOD})
        assert app.deliver("pull_request", gp.pull_request("opened", number=11, head_sha=sha), "serve-1")[0] == 202
        wait_until(lambda: completed(github, sha) and github.comments_on("acme/platform", 11), 60, "serve worker")
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
    assert github.runs_for(sha)[0]["conclusion"] == "success"


def _up(app: LiveApp) -> bool:
    try:
        return app.request("GET", "/readyz")[0] == 200
    except OSError:
        return False
