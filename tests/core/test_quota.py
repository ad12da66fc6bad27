"""Per-team quotas (`x-pledge.quota.perTeam`): validate flags what is past N; a PR only what it adds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.core.tree import DirTree
from bot.core.validate import validate_tree
from tests.core.conftest import git, request
from tests.core.test_check import check, commit, rules

Write = Callable[[str, str | bytes], Path]

QUOTA = """x-pledge:
  kind: Cache
  quota:
    perTeam:
      dev: 2
"""


def with_quota(repo: Path) -> None:
    schema = repo / "schemas/cache/v1.yaml"
    text = schema.read_text()
    assert "x-pledge:\n  kind: Cache\n" in text
    schema.write_text(text.replace("x-pledge:\n  kind: Cache\n", QUOTA))


def caches(write: Write, team: str, env: str, names: list[str]) -> None:
    for name in names:
        write(f"requests/{env}/{team}/{name}.yaml", request(name=name, team=team))


def test_validate_flags_each_request_past_the_quota_in_path_order(repo: Path, write: Write) -> None:
    with_quota(repo)
    for old in (repo / "requests").rglob("*.yaml"):
        old.unlink()
    caches(write, "search", "dev", ["a", "b", "c", "d"])
    caches(write, "search", "prod", ["a", "b", "c"])  # no quota in prod
    caches(write, "payments", "dev", ["a", "b"])  # at the quota, not past it
    report = validate_tree(DirTree(repo))
    flagged = [(f.path, f.line) for f in report.findings if f.rule == "quota.per-team"]
    assert flagged == [("requests/dev/search/c.yaml", 4), ("requests/dev/search/d.yaml", 4)]
    [first] = [f.message for f in report.findings if f.path == "requests/dev/search/c.yaml"]
    assert "team search would have 4 Cache requests in dev" in first and "at most 2" in first
    assert "requests/dev/search/a.yaml" in first and "schemas/cache/v1.yaml" in first


def test_validate_cli_fails_over_quota(repo: Path, write: Write) -> None:
    with_quota(repo)
    caches(write, "search", "dev", ["a", "b", "c"])
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert result.exit_code == 1 and "quota.per-team" in result.output


def test_a_pr_adding_one_past_the_quota_is_flagged_at_the_added_file(gitrepo: Path, write: Write) -> None:
    with_quota(gitrepo)
    for old in (gitrepo / "requests").rglob("*.yaml"):
        old.unlink()
    caches(write, "search", "dev", ["a", "b"])
    commit(gitrepo, "two caches")
    git(gitrepo, "checkout", "-q", "-b", "feature")
    caches(write, "search", "dev", ["c"])
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 1
    assert ("requests/dev/search/c.yaml", "quota.per-team") in rules(report)
    assert [p for p, r in rules(report) if r == "quota.per-team"] == ["requests/dev/search/c.yaml"]


def test_editing_a_request_of_a_team_already_over_is_not_blocked(gitrepo: Path, write: Write) -> None:
    for old in (gitrepo / "requests").rglob("*.yaml"):
        old.unlink()
    caches(write, "search", "dev", ["a", "b", "c"])
    commit(gitrepo, "three caches, before the quota")
    with_quota(gitrepo)
    commit(gitrepo, "quota of two")
    git(gitrepo, "checkout", "-q", "-b", "feature")
    write("requests/dev/search/a.yaml", request(name="a", team="search", size=5))
    commit(gitrepo)
    code, report = check(gitrepo)
    assert "quota.per-team" not in [r for _, r in rules(report)], report
    assert code == 0


def test_a_negative_quota_is_a_catalog_error(repo: Path) -> None:
    schema = repo / "schemas/cache/v1.yaml"
    schema.write_text(schema.read_text().replace("x-pledge:\n  kind: Cache\n",
                                                 "x-pledge:\n  kind: Cache\n  quota: {perTeam: {dev: -1}}\n"))
    report = validate_tree(DirTree(repo))
    assert any(f.path == "schemas/cache/v1.yaml" and f.severity == "error" for f in report.findings), report


def test_the_bundled_dev_cluster_allows_three_per_team_in_dev(tmp_path: Path) -> None:
    import shutil

    platform = tmp_path / "platform"
    shutil.copytree(Path(__file__).parents[2] / "examples/platform", platform)
    sandbox = (platform / "requests/dev/payments/sandbox.yaml").read_text()
    for name in ("one", "two", "three"):
        (platform / f"requests/dev/payments/{name}.yaml").write_text(sandbox.replace("name: sandbox", f"name: {name}"))
    report = validate_tree(DirTree(platform))
    flagged = [f.path for f in report.findings if f.rule == "quota.per-team"]
    assert flagged == ["requests/dev/payments/two.yaml"], flagged  # one, sandbox, three fit; two is the 4th
