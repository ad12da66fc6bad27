"""The GitHub adapter against the fake: batching, limits, retries, rate limits, tokens, comment upsert."""

from __future__ import annotations

import time

import pytest

from bot.adapters.errors import RetryLater
from bot.adapters.github.auth import GitHubApp, make_retry
from bot.app.settings import Settings
from bot.present.checkrun import MARKER, CheckOutput, cut
from tests.app.apptest import APP_ID, make_github
from tests.github.fake_github import FakeGitHub
from tests.github.fake_github_server import serve

REPO = "acme/platform"
SHA = "a" * 40
RUNS = "/repos/{owner}/{repo}/check-runs"


def annotation(i: int) -> dict[str, object]:
    return {"path": "requests/dev/payments/x.yaml", "start_line": i + 1, "end_line": i + 1,
            "annotation_level": "failure", "message": f"problem {i}", "title": "schema.required"}


def test_more_than_50_annotations_go_in_batches_and_the_conclusion_comes_last(
        settings: Settings, fake: FakeGitHub) -> None:
    inst = make_github(settings).installation(1)
    run_id = inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="pledge:pr=1")
    output = CheckOutput("120 errors", "summary", "text", tuple(annotation(i) for i in range(120)))
    assert inst.complete_check_run(REPO, run_id, conclusion="failure", output=output) == 3
    run = fake.check_runs[run_id]
    assert len(run["annotations"]) == 120
    assert [len(r.get("output", {}).get("annotations", [])) for r in run["requests"][1:]] == [50, 50, 20]
    assert [r.get("conclusion") for r in run["requests"][1:]] == [None, None, "failure"]
    assert run["conclusion"] == "failure"


def test_the_spec_rejects_51_annotations_in_one_request(settings: Settings, fake: FakeGitHub) -> None:
    """The fake really validates: what the batching avoids is refused (and recorded as a violation)."""
    inst = make_github(settings).installation(1)
    output = CheckOutput("t", "s", "", tuple(annotation(i) for i in range(51)))
    from bot.adapters.errors import GitHubError

    with pytest.raises(GitHubError) as info:
        too_many = {"title": "t", "summary": "s", "annotations": list(output.annotations)}
        inst._call("raw", lambda gh: gh.get_repo(REPO).create_check_run(name="pledge", head_sha=SHA, output=too_many))
    assert info.value.status == 422
    assert any("annotations" in v for v in fake.violations)
    fake.violations.clear()


def test_long_preview_is_cut_below_the_limit_with_a_note() -> None:
    text = "\n".join(f"+ line {i} " + "x" * 80 for i in range(2000))
    out = cut("```diff\n" + text + "\n```", 65535, "preview")
    assert len(out) <= 65535
    assert out.rstrip().endswith("do not fit in 65,535.*")
    assert out.count("```") % 2 == 0


def test_502s_are_retried(settings: Settings, fake: FakeGitHub) -> None:
    fake.fail("post", RUNS, 502, times=2)
    inst = make_github(settings).installation(1)
    run_id = inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
    assert run_id in fake.check_runs
    assert [c.status for c in fake.rest_calls()] == [502, 502, 201]


def test_persistent_5xx_surfaces_as_an_error_for_the_queue_to_retry(settings: Settings, fake: FakeGitHub) -> None:
    fake.fail("post", RUNS, 503, times=10)
    from bot.adapters.errors import GitHubError

    with pytest.raises(GitHubError):
        make_github(settings).installation(1).create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
    assert len(fake.rest_calls()) == 4  # 1 + 3 retries


def test_token_is_fetched_once_and_reused(settings: Settings, fake: FakeGitHub) -> None:
    app = make_github(settings)
    for _ in range(3):
        app.installation(1).create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
    assert app.installation(1).token().startswith("ghs_")
    tokens = [c for c in fake.calls if c.is_token]
    assert len(tokens) == 1 and tokens[0].auth == "jwt"
    assert {c.auth for c in fake.rest_calls()} == {"installation"}


def test_token_expiring_mid_job_is_renewed_once(settings: Settings, fake: FakeGitHub) -> None:
    inst = make_github(settings).installation(1)
    run_id = inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
    fake.expire_tokens()  # GitHub now answers 401 to the token the client holds
    inst.complete_check_run(REPO, run_id, conclusion="success", output=CheckOutput("ok", "ok"))
    assert fake.check_runs[run_id]["conclusion"] == "success"
    assert [c.status for c in fake.calls] == [201, 201, 401, 201, 200]  # token, POST, PATCH 401, token, PATCH


def test_comment_upsert_costs_one_call_with_a_known_id(settings: Settings, fake: FakeGitHub) -> None:
    inst = make_github(settings).installation(1)
    cid = inst.upsert_comment(REPO, 7, MARKER + "\nv1", marker=MARKER, known_id=None, may_exist=False)
    cid2 = inst.upsert_comment(REPO, 7, MARKER + "\nv2", marker=MARKER, known_id=cid, may_exist=True)
    assert cid == cid2
    assert [c.op_id for c in fake.rest_calls()] == ["issues/create-comment", "issues/update-comment"]
    assert [c["body"] for c in fake.comments_on(REPO, 7)] == [MARKER + "\nv2"]


def test_comment_found_by_marker_when_the_id_is_unknown(settings: Settings, fake: FakeGitHub) -> None:
    for i in range(120):  # two pages at per_page=100
        fake.add_comment(REPO, 7, f"chatter {i}")
    fake.add_comment(REPO, 7, f"quoting {MARKER} is not enough", login="someone")
    ours = fake.add_comment(REPO, 7, MARKER + "\nold", login="pledge-app[bot]", kind="Bot")
    inst = make_github(settings).installation(1)
    assert inst.upsert_comment(REPO, 7, MARKER + "\nnew", marker=MARKER, known_id=None, may_exist=True) == ours
    assert fake.comments[ours]["body"] == MARKER + "\nnew"
    ops = [c.op_id for c in fake.rest_calls()]
    assert ops == ["issues/list-comments", "issues/list-comments", "issues/update-comment"]


def test_deleted_comment_is_posted_again(settings: Settings, fake: FakeGitHub) -> None:
    inst = make_github(settings).installation(1)
    cid = inst.upsert_comment(REPO, 7, MARKER, marker=MARKER, known_id=None, may_exist=False)
    del fake.comments[cid]
    new = inst.upsert_comment(REPO, 7, MARKER + " again", marker=MARKER, known_id=cid, may_exist=False)
    assert new != cid and len(fake.comments_on(REPO, 7)) == 1


def test_enterprise_server_base_url(settings: Settings, app_key: tuple[str, bytes]) -> None:
    import responses

    ghes = FakeGitHub("https://ghe.example.com/api/v3", app_id=APP_ID, public_key=app_key[1])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ghes.install(rsps)
        app = GitHubApp(settings.app_id, settings.private_key, "https://ghe.example.com/api/v3", throttle=False)
        app.installation(3).create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
    assert [c.op_id for c in ghes.calls] == ["apps/create-installation-access-token", "checks/create"]
    assert ghes.violations == []


# ---- over real HTTP, where urllib3 really sleeps ------------------------------------------------


def http_app(fake: FakeGitHub, settings: Settings, **retry: float) -> GitHubApp:
    return GitHubApp(settings.app_id, settings.private_key, fake.base_url, throttle=False,
                     retry=make_retry(total=3, backoff=0.0, **retry))


def test_403_with_retry_after_is_honoured(settings: Settings, app_key: tuple[str, bytes]) -> None:
    with serve(app_id=APP_ID, public_key=app_key[1]) as fake:
        fake.fail("post", RUNS, 403, headers={"Retry-After": "1"},
                  body={"message": "You have exceeded a secondary rate limit."})
        inst = http_app(fake, settings).installation(1)
        start = time.monotonic()
        inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
        assert time.monotonic() - start >= 1.0
        assert [c.status for c in fake.rest_calls()] == [403, 201]
        assert fake.violations == []


def test_primary_rate_limit_waits_for_the_reset(settings: Settings, app_key: tuple[str, bytes]) -> None:
    with serve(app_id=APP_ID, public_key=app_key[1]) as fake:
        reset = int(time.time()) + 1
        fake.fail("post", RUNS, 403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
                  body={"message": "API rate limit exceeded for installation ID 1."})
        inst = http_app(fake, settings).installation(1)
        inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
        assert time.time() >= reset
        assert [c.status for c in fake.rest_calls()] == [403, 201]


def test_secondary_rate_limit_without_retry_after_waits(settings: Settings, app_key: tuple[str, bytes]) -> None:
    with serve(app_id=APP_ID, public_key=app_key[1]) as fake:
        fake.fail("post", RUNS, 403, body={"message": "You have exceeded a secondary rate limit. Please wait."})
        inst = http_app(fake, settings, secondary_rate_wait=0.5).installation(1)
        start = time.monotonic()
        inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
        assert time.monotonic() - start >= 0.5
        assert [c.status for c in fake.rest_calls()] == [403, 201]


def test_a_long_rate_limit_becomes_a_queue_retry(settings: Settings, app_key: tuple[str, bytes]) -> None:
    with serve(app_id=APP_ID, public_key=app_key[1]) as fake:
        fake.fail("post", RUNS, 403, headers={"X-RateLimit-Remaining": "0",
                                               "X-RateLimit-Reset": str(int(time.time()) + 3600)},
                  body={"message": "API rate limit exceeded for installation ID 1."})
        inst = http_app(fake, settings, max_rate_limit_wait=5).installation(1)
        with pytest.raises(RetryLater) as info:
            inst.create_check_run(REPO, name="pledge", head_sha=SHA, external_id="x")
        assert info.value.delay > 3000
        assert fake.runs_for(SHA) == []
