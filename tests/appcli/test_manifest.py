"""`pledge app manifest`: GitHub's manifest format, the router's events, the permissions Pledge's calls need."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.app.manifest import missing_events, missing_permissions
from bot.app.routes import INTERNAL_EVENTS, ROUTES
from bot.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["app", "manifest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_manifest_names_the_webhook_and_what_pledge_needs() -> None:
    code, out, err = run("--url", "https://pledge.example.com/", "--name", "acme-pledge")
    assert code == 0
    assert json.loads(out) == {
        "name": "acme-pledge",
        "url": "https://pledge.example.com",
        "hook_attributes": {"url": "https://pledge.example.com/webhook", "active": True},
        "public": False,
        "default_permissions": {"checks": "write", "contents": "write", "pull_requests": "write",
                                "issues": "write", "metadata": "read", "members": "read"},
        "default_events": ["pull_request", "check_run", "check_suite", "issue_comment", "push"],
    }
    assert err == "post it as the form field `manifest` to https://github.com/settings/apps/new\n"


def test_events_are_the_routers_and_an_org_and_redirect_are_honoured() -> None:
    code, out, err = run("--url", "https://p.example", "--org", "acme", "--redirect-url", "http://127.0.0.1:9/cb")
    assert code == 0
    data = json.loads(out)
    handled = {r.event for r in ROUTES} - set(INTERNAL_EVENTS) - {"installation", "installation_repositories"}
    assert set(data["default_events"]) == handled
    assert data["redirect_url"] == "http://127.0.0.1:9/cb"
    assert "https://github.com/organizations/acme/settings/apps/new" in err


def test_missing_permissions_and_events_compare_access_levels() -> None:
    granted = {"checks": "write", "contents": "read", "pull_requests": "admin", "issues": "write",
               "metadata": "read"}
    assert missing_permissions(granted) == {"contents": "write", "members": "read"}
    assert missing_events(["push", "pull_request", "check_run", "check_suite"]) == ["issue_comment"]
