"""Bad trees never prune (issue 11, item 12): a misplaced or invalid request stops `pledge render` from writing
anything, a non-YAML file under requests/ is flagged, a missing PATH is a usage error, a non-string key is
flagged at its line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from bot.adapters.git.publish import render_on_branch
from bot.cli import main
from tests.core.conftest import git as run_git
from tests.core.conftest import request

Write = Callable[[str, str | bytes], Path]
SESSIONS = "requests/dev/payments/sessions.yaml"
OUT = "environments/dev/payments/cache-sessions"


def run(repo: Path, *args: str) -> tuple[int, list[tuple[str, str]], str]:
    result = CliRunner().invoke(main, [*args, "--repo", str(repo), "--format", "json"])
    try:
        found = [(f["path"], f["rule"]) for f in json.loads(result.output)["findings"]]
    except ValueError:
        found = []
    return result.exit_code, found, result.output


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
            if p.is_file() and p.parts[len(repo.parts)] in ("environments", "clusters")}


@pytest.mark.parametrize(("moved_to", "rule"), [("requests/sessions.yaml", "request.location"),
                                                ("requests/qa/payments/sessions.yaml", "request.unknown-env")])
def test_a_misplaced_request_makes_render_write_nothing(repo: Path, moved_to: str, rule: str) -> None:
    assert run(repo, "render")[0] == 0
    before = snapshot(repo)
    assert f"{OUT}/kustomization.yaml" in before
    (repo / moved_to).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(repo / SESSIONS, repo / moved_to)
    code, found, out = run(repo, "render")
    assert code == 1 and (moved_to, rule) in found, out
    assert snapshot(repo) == before  # the live output of the moved request is not pruned
    assert "nothing written" in out


def test_an_invalid_request_makes_render_write_nothing(repo: Path, write: Write) -> None:
    write("requests/dev/payments/other.yaml", request(name="other"))
    write("requests/prod/payments/tiny.yaml", request(name="tiny", size=1))  # prod needs size >= 4
    code, found, out = run(repo, "render")
    assert code == 1 and ("requests/prod/payments/tiny.yaml", "policy.cache-limits/prod-size") in found, out
    assert snapshot(repo) == {}


def test_the_publisher_never_prunes_while_a_request_is_misplaced(gitrepo: Path) -> None:
    repo = git.Repo(gitrepo)
    assert run(gitrepo, "render")[0] == 0
    run_git(gitrepo, "add", "-A")
    run_git(gitrepo, "commit", "-q", "-m", "render")
    run_git(gitrepo, "mv", SESSIONS, "requests/sessions.yaml")
    run_git(gitrepo, "commit", "-q", "-m", "move the request to the top of requests/")
    for full in (False, True):
        plan = render_on_branch(repo, "HEAD", full=full).build.plan
        assert [p for p, d in plan.items() if d is None] == [], full
    run_git(gitrepo, "rm", "-q", "requests/sessions.yaml")
    run_git(gitrepo, "commit", "-q", "-m", "now delete it for real")
    plan = render_on_branch(repo, "HEAD").build.plan
    assert f"{OUT}/kustomization.yaml" in [p for p, d in plan.items() if d is None]  # a clean removal prunes


@pytest.mark.parametrize(("key", "line"), [("1", 8), ("true", 8), ("null", 8), ("1.5", 8)])
def test_a_key_that_is_not_a_string_is_flagged_at_its_line(repo: Path, write: Write, key: str, line: int) -> None:
    write(SESSIONS, request() + f"  {key}: x\n")
    code, _, out = run(repo, "validate")
    findings = json.loads(out)["findings"]
    assert code == 1 and [(f["rule"], f["line"]) for f in findings] == [("yaml.key-not-string", line)], out
    write(SESSIONS, request() + f"  '{key}': x\n")  # quoted, it is a string: the schema judges it
    assert "yaml.key-not-string" not in run(repo, "validate")[2]
