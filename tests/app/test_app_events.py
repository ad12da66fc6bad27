"""Signature checking and the Event view of real deliveries."""

from __future__ import annotations

import pytest

from bot.app.events import Event, MalformedDelivery, signature, verify_signature
from tests.github import github_payloads as gp


def test_official_signature_vector() -> None:
    # GitHub's documented example (validating-webhook-deliveries)
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify_signature("It's a Secret to Everybody", b"Hello, World!", expected)


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=757107ea", "sha256=" + "0" * 64, "757107ea0eb2"])
def test_bad_or_missing_signature(header: str | None) -> None:
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!", header)


def test_signature_covers_every_byte() -> None:
    good = signature("s", b'{"a": 1}')
    assert not verify_signature("s", b'{"a":1}', good)
    assert not verify_signature("t", b'{"a": 1}', good)


def test_parse_rejects_non_objects_and_missing_headers() -> None:
    with pytest.raises(MalformedDelivery):
        Event.parse("push", "d1", b"[1, 2]")
    with pytest.raises(MalformedDelivery):
        Event.parse("push", "d1", b"{not json")
    with pytest.raises(MalformedDelivery):
        Event.parse(None, "d1", b"{}")
    with pytest.raises(MalformedDelivery):
        Event.parse("push", "", b"{}")


def test_pull_request_event_fields() -> None:
    payload = gp.pull_request("opened", repo="acme/platform", number=12, head_sha="a" * 40)
    event = Event("pull_request", "d1", payload)
    assert (event.action, event.repo, event.pr_number, event.installation_id) == ("opened", "acme/platform", 12, 1)
    assert event.key == "acme/platform#12"
    assert not event.sender_is_bot


def test_check_run_of_a_fork_finds_its_pr_through_external_id() -> None:
    payload = gp.check_run_rerequested(number=31, head_sha="b" * 40, fork=True)
    assert payload["check_run"]["pull_requests"] == []
    assert Event("check_run", "d", payload).key == "acme/platform#31"


def test_check_suite_with_one_pr_and_with_none() -> None:
    one = Event("check_suite", "d", gp.check_suite_rerequested(numbers=(5,), head_sha="c" * 40))
    none = Event("check_suite", "d", gp.check_suite_rerequested(numbers=(), head_sha="c" * 40))
    assert one.key == "acme/platform#5"
    assert none.key == "acme/platform"


def test_comment_on_a_pull_request_and_bot_senders() -> None:
    human = Event("issue_comment", "d", gp.issue_comment_on_pull(number=3))
    bot = Event("issue_comment", "d", gp.issue_comment_on_pull(number=3, sender="pledge-app[bot]", sender_type="Bot"))
    assert human.pr_number == 3 and not human.sender_is_bot
    assert bot.sender_is_bot


def test_installation_event_key() -> None:
    event = Event("installation", "d", gp.installation_created())
    assert event.repo is None
    assert event.key == "installation:957387"
