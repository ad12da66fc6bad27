"""`pledge validate` on bad input: each problem is one finding at the right file, line and rule."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.report import Finding
from bot.core.tree import DirTree
from bot.core.validate import validate_tree
from tests.core.conftest import request

Write = Callable[[str, str | bytes], Path]
PATH = "requests/dev/payments/sessions.yaml"


def errors(repo: Path) -> list[Finding]:
    return [f for f in validate_tree(DirTree(repo)).sorted_findings() if f.severity == "error"]


def only(repo: Path) -> tuple[str, int, int, str]:
    found = errors(repo)
    assert len(found) == 1, found
    f = found[0]
    return f.path, f.line, f.column, f.rule


def test_the_minirepo_is_valid(repo: Path) -> None:
    report = validate_tree(DirTree(repo))
    assert report.findings == []
    assert report.conclusion == "success"
    assert report.judged == [PATH]


@pytest.mark.parametrize(
    ("content", "line", "column", "rule"),
    [
        ("apiVersion: pledge.dev/v1\nkind: [\n", 3, 1, "yaml.syntax"),
        ("", 1, 1, "yaml.empty"),
        (request() + "---\n" + request(), 8, 1, "yaml.multiple-documents"),
        ("- apiVersion: pledge.dev/v1\n", 1, 1, "yaml.not-a-mapping"),
        (request().replace("size: 2", "size: &s 2"), 7, 9, "yaml.anchor"),
        (request().replace("spec:\n", "spec:\n  <<: {tier: small}\n"), 7, 3, "yaml.merge-key"),
        (request().replace("size: 2", "size: !!python/object/apply:os.system [id]"), 7, 9, "yaml.tag"),
        (request() + "  size: 3\n", 8, 3, "yaml.duplicate-key"),
        (request().replace("pledge.dev/v1", "pledge.dev/v9"), 1, 13, "request.unknown-version"),
        (request().replace("kind: Cache", "kind: Cashe"), 2, 7, "request.unknown-offering"),
        (request().replace("name: sessions", "name: Sessions_DB"), 4, 9, "request.name"),
        (request().replace("team: payments", "team: search"), 5, 9, "request.team-mismatch"),
        (request(size='"big"'), 7, 9, "schema.type"),
        (request(size=500), 7, 9, "schema.maximum"),
        (request(tier="medium"), 8, 9, "schema.enum"),
        (request(colour="red"), 8, 3, "schema.additionalProperties"),
        (request().replace("  size: 2\n", "  tier: small\n"), 6, 1, "schema.required"),
        (request() + "status: {}\n", 8, 1, "request.unknown-key"),
        (request().replace("  team: payments\n", "  team: payments\n  namespace: x\n"), 6, 3,
         "request.unknown-key"),
    ],
)
def test_one_finding(repo: Path, write: Write, content: str, line: int, column: int, rule: str) -> None:
    write(PATH, content)
    assert only(repo) == (PATH, line, column, rule)


def test_name_must_match_file(repo: Path, write: Write) -> None:
    write(PATH, request(name="other"))
    assert only(repo) == (PATH, 4, 9, "request.name-mismatch")


def test_non_utf8(repo: Path, write: Write) -> None:
    write(PATH, request().encode() + b"  description: caf\xe9\n")
    assert only(repo) == (PATH, 8, 19, "yaml.encoding")


def test_file_over_256_kib(repo: Path, write: Write) -> None:
    write(PATH, request() + "# " + "x" * 270_000 + "\n")
    assert only(repo) == (PATH, 1, 1, "yaml.too-large")


def test_unknown_environment(repo: Path, write: Write) -> None:
    os.remove(repo / PATH)
    write("requests/qa/payments/sessions.yaml", request())
    assert only(repo) == ("requests/qa/payments/sessions.yaml", 1, 1, "request.unknown-env")


def test_unknown_team(repo: Path, write: Write) -> None:
    write("requests/dev/ghosts/cache.yaml", request(name="cache", team="ghosts"))
    assert only(repo)[::3] == ("requests/dev/ghosts/cache.yaml", "request.unknown-team")


@pytest.mark.parametrize("where", ["requests/payments/x.yaml", "requests/dev/payments/sub/x.yaml", "x/dev/a/b.yaml"])
def test_request_outside_its_place(repo: Path, write: Write, where: str) -> None:
    write(where, request(name="x"))
    found = validate_tree(DirTree(repo), None).sorted_findings()
    if where.startswith("requests/"):
        assert [(f.path, f.rule) for f in found] == [(where, "request.location")]
    else:
        assert found == []  # files outside requests/ are not requests


def test_yml_extension(repo: Path, write: Write) -> None:
    write("requests/dev/payments/other.yml", request(name="other"))
    assert only(repo) == ("requests/dev/payments/other.yml", 1, 1, "request.extension")


def test_symlink_is_rejected(repo: Path) -> None:
    (repo / "requests/dev/payments/link.yaml").symlink_to("sessions.yaml")
    assert only(repo) == ("requests/dev/payments/link.yaml", 1, 1, "request.symlink")


def test_symlinked_folder_is_rejected(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text(request(name="x"))
    (repo / "requests/dev/search").symlink_to(outside, target_is_directory=True)
    assert only(repo) == ("requests/dev/search", 1, 1, "request.symlink")


def test_docs_and_dotfiles_are_not_requests(repo: Path, write: Write) -> None:
    write("requests/README.md", "# how to ask")
    write("requests/dev/payments/.gitkeep", "")
    assert errors(repo) == []


def test_policy_violation_at_the_violated_line(repo: Path, write: Write) -> None:
    os.remove(repo / PATH)
    write("requests/prod/payments/sessions.yaml", request())
    found = errors(repo)
    assert [(f.path, f.line, f.column, f.rule) for f in found] == [
        ("requests/prod/payments/sessions.yaml", 7, 9, "policy.cache-limits/prod-size")]
    assert found[0].message.startswith("prod caches need size >= 4, got 2")


def test_duplicate_identity(repo: Path, write: Write) -> None:
    write("requests/dev/payments/copy.yaml", request(name="sessions"))
    found = errors(repo)
    assert sorted((f.path, f.line, f.rule) for f in found) == [
        ("requests/dev/payments/copy.yaml", 4, "request.duplicate"),
        ("requests/dev/payments/copy.yaml", 4, "request.name-mismatch")]
    assert "also requested by requests/dev/payments/sessions.yaml" in found[0].message


def test_paths_limit_what_is_judged(repo: Path, write: Write) -> None:
    write("requests/dev/search/broken.yaml", "a: [")
    report = validate_tree(DirTree(repo), [PATH])
    assert report.findings == [] and report.judged == [PATH]


def test_findings_never_lose_other_files(repo: Path, write: Write) -> None:
    write("requests/dev/search/a.yaml", "a: [")
    write("requests/dev/search/b.yaml", request(name="b", team="search", size=0))
    rules = sorted((f.path, f.rule) for f in errors(repo))
    assert rules == [("requests/dev/search/a.yaml", "yaml.syntax"),
                     ("requests/dev/search/b.yaml", "schema.minimum")]


def _with_unique_list(repo: Path) -> None:
    schema = repo / "schemas/cache/v1.yaml"
    schema.write_text(schema.read_text() + "  keys:\n    type: array\n    uniqueItems: true\n")


def test_unique_items_is_linear(repo: Path, write: Callable[[str, str | bytes], Path]) -> None:
    # issue 11 item 10: jsonschema compares mappings pairwise for uniqueItems (quadratic): 6,000 took minutes
    import time

    _with_unique_list(repo)
    items = "".join(f"\n    - {{k: {i}, v: [{i}, x]}}" for i in range(6000))
    write("requests/dev/payments/sessions.yaml", request(keys=items))
    start = time.monotonic()
    assert errors(repo) == []
    assert time.monotonic() - start < 5


def test_unique_items_keeps_json_schema_equality(repo: Path, write: Callable[[str, str | bytes], Path]) -> None:
    _with_unique_list(repo)
    for keys, unique in [("[1, 1.0]", False), ("[true, 1]", True), ("[{a: 1, b: 2}, {b: 2, a: 1}]", False),
                         ("[[1, 2], [2, 1]]", True), ("['1', 1]", True), ("[null, false, 0]", True)]:
        write("requests/dev/payments/sessions.yaml", request(keys=keys))
        found = errors(repo)
        assert (found == []) is unique, (keys, found)
        if not unique:
            assert [(f.rule, f.line) for f in found] == [("schema.uniqueItems", 8)], found
            assert "non-unique" in found[0].message and len(found[0].message) < 200


@pytest.mark.parametrize("name", ["sessions.txt", "sessions.json", "sessions.yaml.bak", "sessions"])
def test_other_extensions_under_requests_are_flagged(repo: Path, write: Write, name: str) -> None:
    # issue 11 item 12: a request renamed to .txt was ignored, so its rendered output was pruned
    write(f"requests/dev/payments/{name}", request())
    write("requests/dev/payments/README.md", "# docs are fine\n")
    write("requests/.gitkeep", "")
    found = [(f.path, f.rule) for f in errors(repo)]
    assert found == [(f"requests/dev/payments/{name}", "request.extension")], found
