"""`pledge doctor` against the fake GitHub over HTTP: a healthy setup, then each problem with its exact line."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from bot.app.manifest import PERMISSIONS, events
from bot.cli import main
from tests.appcli.conftest import new_key
from tests.github.fake_github import FakeGitHub

REPO = "acme/platform"


def healthy(github: FakeGitHub) -> None:
    github.grant(PERMISSIONS, events())
    github.add_installation("acme", [REPO])
    github.add_repo(REPO, ruleset_checks=["pledge"])
    github.add_delivery(200, "ping", None)
    github.add_delivery(202)


def doctor(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["doctor", "--repo", REPO, *args], env=env)
    return result.exit_code, result.output.splitlines()


HEALTHY = [
    "✓ App key and id: GET /app with the JWT works: App 4242 `pledge-app`",
    "✓ App slug: PLEDGE_APP_SLUG is `pledge-app`",
    "✓ permissions: checks:write, contents:write, pull_requests:write, issues:write, metadata:read, members:read",
    "✓ events: pull_request, check_run, check_suite, issue_comment, push",
    "✓ webhook: https://pledge.example.com/webhook, content type json; its secret cannot be read back, so it is "
    "not compared (a 401 below means it differs from PLEDGE_WEBHOOK_SECRET)",
    "✓ deliveries: the last 2 were answered 2xx",
    "✓ installations: acme (selected repositories)",
    "✓ repository acme/platform: installation 1001 can reach it",
    "✓ branch main: a ruleset requires the `pledge` check",
]


def queue_line(tmp_path: Path) -> str:
    return f"✓ queue: sqlite://{tmp_path}/data/queue.db answers"


def test_a_healthy_setup_is_all_ticks(github: FakeGitHub, env: dict[str, str], tmp_path: Path) -> None:
    healthy(github)
    code, lines = doctor(env, "--url", "https://pledge.example.com")
    assert lines == [*HEALTHY, queue_line(tmp_path), "everything Pledge needs is in place"]
    assert code == 0
    # only read calls, App-level ones with the JWT
    assert {c.method for c in github.calls} == {"GET", "POST"}
    assert {c.path for c in github.calls if c.method == "POST"} == {"/app/installations/1001/access_tokens"}
    assert {c.auth for c in github.calls if c.path.startswith("/app")} == {"jwt"}


def test_classic_branch_protection_counts_too(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    github.add_repo(REPO, required_checks=["lint", "pledge"])
    code, lines = doctor(env)
    assert lines[8] == "✓ branch main: branch protection requires the `pledge` check"
    assert code == 0


def test_a_key_of_another_app_is_refused(github: FakeGitHub, env: dict[str, str], tmp_path: Path) -> None:
    healthy(github)
    other = tmp_path / "other.pem"
    other.write_text(new_key()[0])
    code, lines = doctor(dict(env, PLEDGE_PRIVATE_KEY_FILE=str(other)))
    assert lines[0].startswith("✗ App key and id: GET /app with the JWT of App 4242: GitHub answered 401 "
                               "(A JSON web token could not be decoded: Signature verification failed); ")
    assert lines[0].endswith("; PLEDGE_APP_ID and the private key must belong to the same App: check the App ID, "
                             "or generate a new private key on the App's settings page")
    assert lines[1:] == [queue_line(tmp_path), "1 problem(s) to fix"]
    assert code == 1


def test_missing_permissions_and_events(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    github.grant({**PERMISSIONS, "contents": "read", "members": "none", "administration": "write"},
                 ["pull_request", "push"])
    code, lines = doctor(env)
    assert lines[2:4] == [
        "✗ permissions: the App lacks contents:write, members:read: App settings → Permissions & events, "
        "then accept the new permissions in each installation",
        "✗ events: not subscribed to check_run, check_suite, issue_comment: App settings → Permissions & events "
        "→ Subscribe to events",
    ]
    assert lines[-1] == "2 problem(s) to fix"
    assert code == 1


def test_an_installation_that_did_not_accept_new_permissions(github: FakeGitHub, env: dict[str, str]) -> None:
    github.grant({**PERMISSIONS, "members": "none"}, events())
    github.add_installation("acme", [REPO])
    github.add_repo(REPO, ruleset_checks=["pledge"])
    github.grant(PERMISSIONS, events())  # the App asks for more; the installation still has the old set
    code, lines = doctor(env)
    assert lines[7] == ("✗ repository acme/platform: installation 1001 has not accepted members:read: accept the "
                        "new permissions in the account's settings → GitHub Apps → Configure")
    assert code == 1


def test_an_unprotected_branch(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    github.add_repo(REPO)
    code, lines = doctor(env)
    assert lines[8] == ("✗ branch main: not protected: add a ruleset (or branch protection) requiring the `pledge` "
                        "check from this App (docs/app.md#branch-protection-require-the-pledge-check)")
    assert lines[-1] == "1 problem(s) to fix"
    assert code == 1


def test_protection_without_the_pledge_check(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    github.add_repo(REPO, default_branch="trunk", required_checks=["lint"])
    code, lines = doctor(env)
    assert lines[8] == ("✗ branch trunk: required checks are `lint`, not `pledge`: add `pledge` "
                        "(docs/app.md#branch-protection-require-the-pledge-check)")
    assert code == 1


def test_failed_deliveries(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    for status in (401, 401, 503):
        github.add_delivery(status)
    code, lines = doctor(env)
    assert lines[5] == ("✗ deliveries: 3 of the last 5 failed (401 x2, 503 x1): 401: the webhook secret differs "
                        "from PLEDGE_WEBHOOK_SECRET; 503: Pledge was down or its queue unreachable; redeliver them "
                        "from Recent Deliveries once fixed")
    assert code == 1


def test_a_webhook_pointing_elsewhere(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    github.hook_config.update(url="https://old.example.com/hook", content_type="form")
    code, lines = doctor(env, "--url", "https://pledge.example.com")
    assert lines[4] == ("✗ webhook: https://old.example.com/hook, content type form: set the Webhook URL to "
                        "https://pledge.example.com/webhook; set the content type to application/json "
                        "(App settings → Webhook)")
    assert code == 1


def test_not_installed_on_the_repository(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    github.installations.clear()
    code, lines = doctor(env)
    assert lines[6:8] == [
        "✗ installations: none: Install App → your organisation → the platform repository",
        "✗ repository acme/platform: the App is not installed on it: add it to the installation's Repository access",
    ]
    assert lines[8].startswith("✓ queue: ")  # the branch cannot be read without an installation
    assert code == 1


def test_an_unreachable_queue(github: FakeGitHub, env: dict[str, str]) -> None:
    healthy(github)
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, lines = doctor(dict(env, PLEDGE_QUEUE=f"redis://127.0.0.1:{port}/0"))
    assert lines[:9] == HEALTHY
    assert lines[9].startswith(f"✗ queue: redis://127.0.0.1:{port}/0 is unreachable (ConnectionError: ")
    assert lines[9].endswith("): start it or fix PLEDGE_QUEUE")
    assert code == 1


def test_configuration_problems_exit_2(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["doctor", "--repo", REPO], env=dict(env, PLEDGE_APP_ID=""))
    assert result.exit_code == 2
    assert "PLEDGE_APP_ID is not set" in result.stderr
