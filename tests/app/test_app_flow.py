"""A pull request from delivery to check run and sticky comment, against the fake GitHub and a real git remote."""

from __future__ import annotations

from tests.app.apptest import Bot
from tests.github import github_payloads as gp
from tests.github.fake_git_remote import GitRemote

GOOD = """apiVersion: pledge.dev/v1
kind: Cache
metadata:
  name: orders
  team: payments
spec:
  size: 3
"""
BAD = GOOD.replace("size: 3", "size: 0")  # line 7: minimum is 1


def open_pr(bot: Bot, remote: GitRemote, files: dict[str, str | None], number: int = 7,
            action: str = "opened") -> str:
    sha = remote.push_pr(number, files, from_base=action == "opened")
    resp = bot.deliver("pull_request", gp.pull_request(action, number=number, head_sha=sha))
    assert resp.status_code == 202, resp.get_json()
    assert bot.work() >= 1
    return sha


def test_valid_request_gets_success_check_and_one_comment(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {"requests/dev/payments/orders.yaml": GOOD})
    (run,) = bot.fake.runs_for(sha)
    assert run["name"] == "pledge"
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert run["external_id"] == "pledge:pr=7"
    assert "environments/dev/payments" in run["output"]["text"]
    (comment,) = bot.fake.comments_on("acme/platform", 7)
    assert comment["body"].startswith("<!-- pledge:summary -->")
    assert "What merging will create" in comment["body"]
    assert [c.op_id for c in bot.fake.rest_calls()] == ["checks/create", "checks/update", "issues/create-comment"]


def test_schema_error_is_annotated_on_its_line(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {"requests/dev/payments/orders.yaml": BAD})
    (run,) = bot.fake.runs_for(sha)
    assert run["conclusion"] == "failure"
    paths = {(a["path"], a["start_line"], a["annotation_level"]) for a in run["annotations"]}
    assert ("requests/dev/payments/orders.yaml", 7, "failure") in paths
    (comment,) = bot.fake.comments_on("acme/platform", 7)
    assert "To fix before merging" in comment["body"]
    assert "orders.yaml:7" in comment["body"]


def test_pr_without_request_files_gets_one_call_and_no_comment(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {"README.md": "# platform\n"})
    (run,) = bot.fake.runs_for(sha)
    assert (run["conclusion"], run["output"]["title"]) == ("success", "No requests changed")
    assert bot.fake.comments_on("acme/platform", 7) == []
    assert [c.op_id for c in bot.fake.rest_calls()] == ["checks/create"]


def test_push_edits_the_same_comment(bot: Bot, remote: GitRemote) -> None:
    open_pr(bot, remote, {"requests/dev/payments/orders.yaml": BAD})
    before = len(bot.fake.calls)
    sha2 = open_pr(bot, remote, {"requests/dev/payments/orders.yaml": GOOD}, action="synchronize")
    (comment,) = bot.fake.comments_on("acme/platform", 7)
    assert "What merging will create" in comment["body"] and sha2[:12] in comment["body"]
    new = [c.op_id for c in bot.fake.calls[before:] if not c.is_token]
    assert new == ["checks/create", "checks/update", "issues/update-comment"]


def test_hand_edit_of_rendered_files_fails(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {"environments/dev/payments/x.yaml": "kind: ConfigMap\n"})
    (run,) = bot.fake.runs_for(sha)
    assert run["conclusion"] == "failure"
    assert any(a["path"] == "environments/dev/payments/x.yaml" for a in run["annotations"])
