"""POST /webhook: signature first, status codes, ping, dedupe, bots; /healthz and /readyz."""

from __future__ import annotations

import json

from bot.app.settings import MAX_PAYLOAD_BYTES
from tests.app.apptest import SECRET, Bot, headers
from tests.github import github_payloads as gp


def post(bot: Bot, event: str, body: bytes, **hdrs: str) -> tuple[int, dict]:
    h = headers(event, body, hdrs.pop("delivery", "d-1"))
    h.update(hdrs)
    resp = bot.client.post("/webhook", data=body, headers={k: v for k, v in h.items() if v})
    return resp.status_code, resp.get_json(silent=True) or {}


def pr_body(number: int = 7) -> bytes:
    return json.dumps(gp.pull_request("opened", number=number, head_sha="a" * 40)).encode()


def test_unsigned_and_badly_signed_deliveries_are_401_and_not_queued(bot: Bot) -> None:
    body = pr_body()
    assert post(bot, "pull_request", body, **{"X-Hub-Signature-256": ""})[0] == 401
    wrong = headers("pull_request", body, "d", secret="not the secret")["X-Hub-Signature-256"]
    assert post(bot, "pull_request", body, **{"X-Hub-Signature-256": wrong})[0] == 401
    sha1_only = {"X-Hub-Signature-256": "", "X-Hub-Signature": "sha1=abc"}
    assert post(bot, "pull_request", body, **sha1_only)[0] == 401
    assert bot.queue.journal.pending_keys() == []


def test_signature_is_checked_before_the_body_is_parsed(bot: Bot) -> None:
    garbage = b"{this is not json"
    assert post(bot, "pull_request", garbage, **{"X-Hub-Signature-256": "sha256=00"})[0] == 401
    assert post(bot, "pull_request", garbage)[0] == 400  # signed garbage: malformed, not unauthorized


def test_malformed_signed_deliveries_are_400(bot: Bot) -> None:
    assert post(bot, "pull_request", b"[1, 2, 3]")[0] == 400
    assert post(bot, "pull_request", b"\xff\xfe\x00")[0] == 400
    assert post(bot, "", pr_body())[0] == 400  # no X-GitHub-Event
    assert post(bot, "pull_request", pr_body(), delivery="")[0] == 400  # no X-GitHub-Delivery


def test_over_25_mb_is_413(bot: Bot) -> None:
    body = b'{"pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    assert post(bot, "pull_request", body)[0] == 413


def test_ping_is_answered(bot: Bot) -> None:
    status, answer = post(bot, "ping", json.dumps(gp.ping()).encode())
    assert (status, answer["status"]) == (200, "pong")


def test_handled_event_is_queued_202(bot: Bot) -> None:
    status, answer = post(bot, "pull_request", pr_body())
    assert (status, answer["status"]) == (202, "queued")
    assert bot.queue.journal.pending_keys() == ["acme/platform#7"]


def test_unhandled_events_and_actions_are_acknowledged_not_queued(bot: Bot) -> None:
    labeled = json.dumps(gp.example("pull_request.labeled")).encode()
    assert post(bot, "pull_request", labeled, delivery="a")[1]["status"] == "ignored"
    assert post(bot, "push", b'{"ref": "refs/heads/main"}', delivery="b")[1]["status"] == "ignored"
    completed = json.dumps(gp.example("check_run.completed")).encode()  # our own runs completing: no loop
    assert post(bot, "check_run", completed, delivery="c")[1]["status"] == "ignored"
    # edited without a base change (title or body) does not need a check
    edited = gp.pull_request("edited", head_sha="a" * 40)
    del edited["changes"]["base"]
    edited["changes"]["title"] = {"from": "old"}
    assert post(bot, "pull_request", json.dumps(edited).encode(), delivery="d")[1]["status"] == "ignored"
    assert bot.queue.journal.pending_keys() == []


def test_edited_with_a_new_base_is_queued(bot: Bot) -> None:
    body = json.dumps(gp.pull_request("edited", head_sha="a" * 40)).encode()
    assert post(bot, "pull_request", body)[0] == 202


def test_comments_from_bots_are_ignored_so_the_app_never_answers_itself(bot: Bot) -> None:
    ours = gp.issue_comment_on_pull(sender="pledge-app[bot]", sender_type="Bot")
    status, answer = post(bot, "issue_comment", json.dumps(ours).encode())
    assert status == 200 and answer["status"] == "ignored" and "bot" in answer["reason"]


def test_redelivered_id_is_acknowledged_but_queued_once(bot: Bot) -> None:
    body = pr_body()
    first = post(bot, "pull_request", body, delivery="same-guid")
    again = post(bot, "pull_request", body, delivery="same-guid")
    assert first == (202, {"status": "queued"})
    assert again == (200, {"status": "duplicate"})
    assert bot.queue.journal.head("acme/platform#7") is not None
    assert bot.queue.huey.pending_count() == 1


def test_health_and_readiness(bot: Bot) -> None:
    assert bot.client.get("/healthz").status_code == 200
    ready = bot.client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["queue"] == "sqlite"


def test_readiness_fails_when_the_queue_is_unreachable(bot: Bot, monkeypatch: object) -> None:
    def broken() -> None:
        raise OSError("disk gone")

    bot.queue.journal.ping = broken  # type: ignore[method-assign]
    resp = bot.client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["problems"] == ["queue unreachable: OSError"]


def test_queue_failure_is_503_so_github_records_a_failed_delivery(bot: Bot) -> None:
    def broken(*args: object) -> bool:
        raise OSError("disk full")

    bot.queue.journal.accept = broken  # type: ignore[method-assign]
    assert post(bot, "pull_request", pr_body())[0] == 503


def test_secret_is_never_in_responses(bot: Bot) -> None:
    for code_body in (post(bot, "pull_request", b"{}", **{"X-Hub-Signature-256": "sha256=1"}),
                      post(bot, "pull_request", b"[]")):
        assert SECRET not in json.dumps(code_body[1])


def test_a_webhook_cannot_pose_as_a_queued_flux_event(bot: Bot) -> None:
    """Flux events enter only through POST /flux with their own secret; the same name on /webhook is ignored."""
    body = json.dumps({"involvedObject": {"kind": "Kustomization", "name": "pledge-dev"}, "repository":
                       {"full_name": "acme/platform"}}).encode()
    status, answer = post(bot, "flux", body, delivery="f-1")
    assert (status, answer["status"]) == (200, "ignored")
    assert bot.queue.journal.pending_keys() == []


def test_deeply_nested_json_is_400_not_500(bot: Bot) -> None:
    # issue 11 item 10: json.loads raises RecursionError on deep nesting; that is a malformed body, not a crash
    deep = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, _ = post(bot, "pull_request", deep)
    assert status == 400
    assert bot.queue.journal.pending_keys() == []
