"""POST /flux: signed notification-controller events settle render commits and are told on their PRs once."""

from __future__ import annotations

import json

from bot.adapters.store.history import history_rows
from bot.app.flux_intake import MAX_FLUX_BYTES
from tests.app.apptest import Bot
from tests.app.publishtest import (
    REPO,
    commits,
    deliver,
    fast_publishing,
    flux_body,
    open_and_merge,
    post_flux,
    pub,
    request,
    sync,
)
from tests.github.fake_git_remote import GitRemote
from tests.github.fake_github import FakeGitHub

__all__ = ["fast_publishing", "pub"]
HEALTH = "timeout waiting for: [ConfigMap/payments/cache-c8 status: 'InProgress']"


def flux_comments(fake: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in fake.comments_on(REPO, number) if "Flux" in c["body"] and "pledge:" not in c["body"]]


def publish_two(pub: Bot, remote: GitRemote) -> tuple[str, str]:
    """Merge and publish PRs 7 and 8: two render commits, the second a descendant of the first."""
    deliver(pub, "pull_request", open_and_merge(pub, remote, 7, {"requests/dev/payments/c7.yaml": request("c7")},
                                                check=True))
    first = commits(remote)[0]
    deliver(pub, "pull_request", open_and_merge(pub, remote, 8, {"requests/dev/payments/c8.yaml": request("c8")}))
    return first, commits(remote)[0]


def test_the_signature_is_checked_before_anything_is_parsed(pub: Bot) -> None:
    good = json.dumps(flux_body(sha="a" * 40)).encode()
    assert post_flux(pub.client, good, secret=None).status_code == 401
    assert post_flux(pub.client, good, secret="another-secret-of-16").status_code == 401
    tampered = post_flux(pub.client, good.replace(b"dev", b"prd"), secret=None)
    assert tampered.status_code == 401
    assert post_flux(pub.client, b"{not json").status_code == 400
    assert post_flux(pub.client, {**flux_body(), "timestamp": "yesterday"}).status_code == 400
    assert post_flux(pub.client, b"x" * (MAX_FLUX_BYTES + 1)).status_code == 413
    deep = b"[" * 200_000 + b"]" * 200_000  # RecursionError in json.loads: malformed (400), not a crash (500)
    assert post_flux(pub.client, deep[: MAX_FLUX_BYTES // 2] + deep[-MAX_FLUX_BYTES // 2 :]).status_code == 400
    assert post_flux(pub.client, good, repo="acme/..").status_code in (401, 404)
    other = flux_body()
    other["involvedObject"]["name"] = "flux-system"
    assert post_flux(pub.client, other).get_json()["status"] == "ignored"
    assert post_flux(pub.client, flux_body(reason="Progressing")).get_json()["status"] == "ignored"
    first = post_flux(pub.client, good)
    assert (first.status_code, first.get_json()) == (202, {"status": "queued"})
    assert post_flux(pub.client, good).get_json() == {"status": "duplicate"}  # the same POST again
    assert pub.queue.journal.pending_keys() == [f"flux:{REPO}"]


def test_flux_feedback_is_off_without_a_secret(bot: Bot) -> None:
    assert post_flux(bot.client, flux_body()).status_code == 404


def test_a_success_covers_skipped_intermediate_commits(pub: Bot, remote: GitRemote) -> None:
    first, second = publish_two(pub, remote)
    assert first != second
    start = len(pub.fake.calls)
    assert post_flux(pub.client, flux_body(sha=second, at="2026-11-26T22:53:02Z")).status_code == 202
    pub.work()
    assert [c.op_id for c in pub.fake.calls[start:] if not c.is_token] == ["issues/create-comment"] * 2
    for number in (7, 8):  # Flux never reported the first render on its own
        (text,) = flux_comments(pub.fake, number)
        assert text == f"Applied in dev at 2026-11-26 22:53:02 UTC (Flux revision `main@sha1:{second}`)."
    rows = {r["pr"]: r for r in history_rows(pub.settings.data_dir / "history" / "acme" / "platform")}
    assert rows[7]["applied"] == "2026-11-26T22:53:02Z" and rows[7]["opened"] and rows[7]["lead_time_s"] is not None
    assert rows[8]["commit"] == second

    assert post_flux(pub.client, flux_body(sha=second, at="2026-11-26T23:03:02Z")).status_code == 202
    pub.work()  # a later success of the same revision tells nobody again
    assert all(len(flux_comments(pub.fake, n)) == 1 for n in (7, 8))


def test_repeated_errors_are_told_once_and_a_later_success_still_counts(pub: Bot, remote: GitRemote) -> None:
    _first, second = publish_two(pub, remote)
    for at in ("2026-11-26T22:00:00Z", "2026-11-26T22:05:00Z", "2026-11-26T22:10:00Z"):  # Flux repeats errors
        error = flux_body(severity="error", reason="HealthCheckFailed", message=HEALTH, sha=second, at=at)
        assert post_flux(pub.client, error).status_code == 202
        pub.work()
    for number in (7, 8):
        (text,) = flux_comments(pub.fake, number)
        assert text.startswith("Not applied in dev: Flux reported **HealthCheckFailed** at 2026-11-26 22:00:00 UTC")
        assert f"> {HEALTH}" in text
    other = flux_body(severity="error", reason="BuildFailed", message="kustomize build failed", sha=second,
                      at="2026-11-26T22:20:00Z")
    post_flux(pub.client, other)
    pub.work()  # a new reason is news
    assert len(flux_comments(pub.fake, 8)) == 2
    post_flux(pub.client, flux_body(sha=second, at="2026-11-26T22:30:00Z"))
    pub.work()
    assert all(flux_comments(pub.fake, n)[-1].startswith("Applied in dev at 2026-11-26 22:30:00") for n in (7, 8))
    row = next(r for r in history_rows(pub.settings.data_dir / "history" / "acme" / "platform") if r["pr"] == 8)
    assert row["applied"] == "2026-11-26T22:30:00Z" and row["failed"] == "2026-11-26T22:20:00Z"


def test_an_event_for_a_commit_the_mirror_lacks_is_fetched_first(pub: Bot, remote: GitRemote) -> None:
    first, _second = publish_two(pub, remote)
    sync(remote)
    later = remote.commit_base({"README.md": "docs\n"}, "docs")  # Flux saw a newer commit than the mirror
    post_flux(pub.client, flux_body(sha=later))
    pub.work()
    assert len(flux_comments(pub.fake, 7)) == 1 and len(flux_comments(pub.fake, 8)) == 1
    assert first in commits(remote)


def test_a_failed_comment_is_posted_on_retry_and_only_once(pub: Bot, remote: GitRemote) -> None:
    _first, second = publish_two(pub, remote)
    pub.fake.fail("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 422, times=2)
    post_flux(pub.client, flux_body(sha=second))
    pub.work(include_scheduled=True)  # PR 7's comment fails twice (422 is not retried by PyGithub)
    assert len(flux_comments(pub.fake, 7)) == 1 and len(flux_comments(pub.fake, 8)) == 1
    assert pub.queue.journal.pending_keys() == []
