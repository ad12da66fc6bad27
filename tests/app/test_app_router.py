"""The routing table: every row names a real handler; first match wins; bots never trigger comment handling."""

from __future__ import annotations

from bot.app.dispatch import FLOWS
from bot.app.events import Event
from bot.app.routes import ROUTES, Route, match
from tests.github import github_payloads as gp


def test_every_route_names_a_handler() -> None:
    for route in ROUTES:
        assert callable(FLOWS[route.handler]), route


def test_routes_for_the_issue() -> None:
    sha = "a" * 40
    cases = {
        ("pull_request", "opened"): gp.pull_request("opened", head_sha=sha),
        ("pull_request", "synchronize"): gp.pull_request("synchronize", head_sha=sha),
        ("pull_request", "reopened"): gp.pull_request("reopened", head_sha=sha),
        ("pull_request", "edited"): gp.pull_request("edited", head_sha=sha),
        ("pull_request", "closed"): gp.pull_request("closed", head_sha=sha),  # merged: publish_merge (issue 6)
        ("check_run", "rerequested"): gp.check_run_rerequested(head_sha=sha),
        ("check_suite", "rerequested"): gp.check_suite_rerequested(head_sha=sha),
        ("installation", "created"): gp.installation_created(),
    }
    handled = {(name, action): match(Event(name, "d", payload)) for (name, action), payload in cases.items()}
    assert {k: r.handler for k, r in handled.items() if r} == {
        ("pull_request", "opened"): "check_pull_request",
        ("pull_request", "synchronize"): "check_pull_request",
        ("pull_request", "reopened"): "check_pull_request",
        ("pull_request", "edited"): "check_pull_request",
        ("pull_request", "closed"): "pull_request_closed",
        ("check_run", "rerequested"): "rerun_check_run",
        ("check_suite", "rerequested"): "rerun_check_suite",
        ("installation", "created"): "log_installation",
    }


def test_first_matching_row_wins_so_later_issues_can_slot_in_above() -> None:
    merged = Event("pull_request", "d", gp.pull_request("closed", head_sha="a" * 40, merged=True))
    publish = Route("pull_request", "closed", "publish_merge", when=lambda e: bool(e.payload["pull_request"]["merged"]))
    assert match(merged, (publish, *ROUTES)) is publish
    closed = Event("pull_request", "d", gp.pull_request("closed", head_sha="a" * 40))
    assert match(closed, (publish, *ROUTES)).handler == "pull_request_closed"  # type: ignore[union-attr]


def test_comment_rows_never_fire_for_bots() -> None:
    command = Route("issue_comment", "created", "slash_command")
    human = Event("issue_comment", "d", gp.issue_comment_on_pull(body="/pledge check"))
    ourselves = Event("issue_comment", "d", gp.issue_comment_on_pull(sender="pledge-app[bot]", sender_type="Bot"))
    assert match(human, (command,)) is command
    assert match(ourselves, (command,)) is None
