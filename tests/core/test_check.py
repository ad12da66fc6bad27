"""`pledge check` on real git repositories: base rules judge head requests; a preview shows the change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from bot.cli import main
from tests.core.conftest import git, request

Write = Callable[[str, str | bytes], Path]


def check(repo: Path, base: str = "main", head: str = "feature") -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["check", "--repo", str(repo), "--base", base, "--head", head,
                                       "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def rendered_main(repo: Path) -> None:
    CliRunner().invoke(main, ["render", "--repo", str(repo)])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "render")
    git(repo, "checkout", "-q", "-b", "feature")


def commit(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def rules(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["path"], f["rule"]) for f in report["findings"]]


def test_no_request_changed_is_success_with_nothing_judged(gitrepo: Path, write: Write) -> None:
    rendered_main(gitrepo)
    write("docs/notes.md", "hello")
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 0 and report["conclusion"] == "success"
    assert report["judged"] == [] and report["preview"] == []


def test_added_request_is_judged_and_previewed(gitrepo: Path, write: Write) -> None:
    rendered_main(gitrepo)
    write("requests/dev/search/index.yaml", request(name="index", team="search", size=3))
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 0, report
    assert report["judged"] == ["requests/dev/search/index.yaml"]
    [env] = report["preview"]
    assert env["env"] == "dev"
    assert env["added"] == ["environments/dev/search/cache-index/configmap-cache-index.yaml"]
    assert "+  name: cache-index" in env["diff"]


def test_changed_and_deleted_requests_preview_changes_and_removals(gitrepo: Path, write: Write) -> None:
    write("requests/dev/search/index.yaml", request(name="index", team="search"))
    commit(gitrepo, "index")
    rendered_main(gitrepo)
    write("requests/dev/payments/sessions.yaml", request(size=5))
    (gitrepo / "requests/dev/search/index.yaml").unlink()
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 0
    [env] = report["preview"]
    assert env["changed"] == ["environments/dev/payments/cache-sessions/configmap-cache-sessions.yaml"]
    assert env["removed"] == ["environments/dev/search/cache-index/configmap-cache-index.yaml"]
    assert "-  size: '2'" in env["diff"] and "+  size: '5'" in env["diff"]


def test_rules_come_from_base_not_from_the_pull_request(gitrepo: Path, write: Write) -> None:
    rendered_main(gitrepo)
    # The PR raises the schema's maximum and deletes the prod policy, then asks for what they forbade.
    schema = gitrepo / "schemas/cache/v1.yaml"
    schema.write_text(schema.read_text().replace("maximum: 64", "maximum: 1000"))
    (gitrepo / "policies/cache/limits.yaml").unlink()
    write("requests/prod/payments/big.yaml", request(name="big", size=500))
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 1
    assert ("requests/prod/payments/big.yaml", "schema.maximum") in rules(report)


def test_hand_edits_of_generated_folders_fail(gitrepo: Path) -> None:
    rendered_main(gitrepo)
    target = gitrepo / "environments/dev/payments/cache-sessions/configmap-cache-sessions.yaml"
    target.write_text(target.read_text() + "# tweak\n")
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 1
    assert rules(report) == [(target.relative_to(gitrepo).as_posix(), "repo.generated-edit")]


def test_broken_catalog_in_the_pr_is_reported_on_the_catalog(gitrepo: Path, write: Write) -> None:
    rendered_main(gitrepo)
    write("renderers/cache/v1/configmap.yaml.j2", "{% if %}")
    write("schemas/cache/v2.yaml", "x-pledge: {kind: Cache}\n")
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 1
    assert ("schemas/cache/v2.yaml", "catalog.schema") in rules(report)


def test_symlinked_request_in_the_pr(gitrepo: Path) -> None:
    rendered_main(gitrepo)
    (gitrepo / "requests/dev/payments/alias.yaml").symlink_to("sessions.yaml")
    commit(gitrepo)
    code, report = check(gitrepo)
    assert code == 1
    assert rules(report) == [("requests/dev/payments/alias.yaml", "request.symlink")]


def test_unknown_ref_is_a_usage_error(gitrepo: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--repo", str(gitrepo), "--base", "nope"])
    assert result.exit_code == 2 and "nope" in result.output


def test_bootstrap_pr_may_not_carry_requests(repo: Path, write: Write) -> None:
    (repo / "pledge.yaml").rename(repo / "pledge.later")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "no pledge.yaml yet")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "pledge.later").rename(repo / "pledge.yaml")
    write("requests/prod/payments/big.yaml", request(name="big", size=500))
    commit(repo)
    code, report = check(repo)
    assert code == 1
    assert rules(report) == [("pledge.yaml", "config.bootstrap"),
                             ("requests/prod/payments/big.yaml", "config.bootstrap-request")]
