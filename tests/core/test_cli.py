"""The CLI's contract: exit codes 0/1/2, the three formats, configuration errors without tracebacks."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.core.conftest import request

Write = Callable[[str, str | bytes], Path]
PATH = "requests/dev/payments/sessions.yaml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_formats_and_exit_codes(repo: Path, write: Write) -> None:
    assert run("validate", "--repo", str(repo))[0] == 0
    write(PATH, request(size=0))
    code, out = run("validate", "--repo", str(repo))
    assert code == 1
    assert PATH in out and "7:9" in out and "      7 |   size: 0" in out.replace("\x1b", "")
    assert "failure: 1 error(s)" in out
    code, out = run("validate", "--repo", str(repo), "--format", "json")
    data = json.loads(out)
    assert data["conclusion"] == "failure"
    assert data["findings"][0] | {"message": ""} == {"path": PATH, "line": 7, "column": 9, "severity": "error",
                                                     "rule": "schema.minimum", "message": ""}
    code, out = run("validate", "--repo", str(repo), "--format", "github")
    assert out.splitlines()[0].startswith(f"::error file={PATH},line=7,col=9,title=schema.minimum::")


def test_github_format_escapes_newlines_and_percent(repo: Path, write: Write) -> None:
    write(PATH, "a: [\n")
    out = run("validate", "--repo", str(repo), "--format", "github")[1]
    assert all(line.startswith(("::", "pledge:")) for line in out.splitlines())


@pytest.mark.parametrize(
    ("pledge_yaml", "expected"),
    [
        (None, "pledge.yaml is missing"),
        ("apiVersion: pledge.dev/v1\nkind: Platform\nenvironments: []\nteams: [{name: a}]\n",
         "pledge.yaml:3:15: environments"),
        ("apiVersion: pledge.dev/v1\nkind: Platform\nenvironments: [{name: dev}, {name: dev}]\n"
         "teams: [{name: a}]\n", "listed twice"),
        ("apiVersion: pledge.dev/v1\nkind: Platform\nenvironments: [{name: dev}]\n", "teamPattern"),
        ("a: [", "pledge.yaml:2:1: invalid YAML"),
    ],
)
def test_configuration_errors_exit_2(repo: Path, write: Write, pledge_yaml: str | None, expected: str) -> None:
    if pledge_yaml is None:
        (repo / "pledge.yaml").unlink()
    else:
        write("pledge.yaml", pledge_yaml)
    for command in (["validate"], ["render"], ["render", "--check"]):
        code, out = run(*command, "--repo", str(repo))
        assert code == 2 and expected in out, (command, out)


def test_usage_errors_exit_2(repo: Path) -> None:
    assert run("render", "--repo", str(repo), "--env", "qa")[0] == 2
    assert run("validate", "--repo", str(repo / "missing"))[0] == 2
    assert run("validate", "--repo", str(repo), "--format", "xml")[0] == 2
    assert run("check", "--repo", str(repo), "--base", "main")[0] == 2  # not a git repository


def test_render_env_limits_output(repo: Path, write: Write) -> None:
    write("requests/prod/payments/big.yaml", request(name="big", size=8))
    assert run("render", "--repo", str(repo), "--env", "prod")[0] == 0
    assert (repo / "environments/prod/payments/cache-big").is_dir()
    assert not (repo / "environments/dev").exists()


def test_schemas_export(repo: Path, tmp_path: Path) -> None:
    code, out = run("schemas", "--repo", str(repo), "--out", str(tmp_path / "s"))
    assert code == 0 and "wrote 1 schema(s)" in out
    schema = json.loads((tmp_path / "s/cache.v1.json").read_text())
    assert schema["properties"]["kind"] == {"const": "Cache"}
    assert schema["properties"]["spec"]["required"] == ["size"]


PACKAGE = Path(__file__).parents[2] / "bot"
CORE = sorted(str(p.relative_to(PACKAGE)) for folder in ("core", "present") for p in (PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("module", CORE)
def test_core_imports_no_adapters(module: str) -> None:
    source = (PACKAGE / module).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "github", "git", "requests", "huey", "redis"}


def test_schema_defs_are_hoisted_so_references_resolve(repo: Path, write: Write, tmp_path: Path) -> None:
    import jsonschema

    schema = repo / "schemas/cache/v1.yaml"
    text = schema.read_text().replace("  tier:\n    enum: [small, large]\n", "  tier:\n    $ref: '#/$defs/tier'\n")
    write("schemas/cache/v1.yaml", text + "$defs:\n  tier:\n    enum: [small, large]\n")
    assert run("validate", "--repo", str(repo))[0] == 0
    assert run("schemas", "--repo", str(repo), "--out", str(tmp_path / "s"))[0] == 0
    published = json.loads((tmp_path / "s/cache.v1.json").read_text())
    doc = {"apiVersion": "pledge.dev/v1", "kind": "Cache", "metadata": {"name": "a", "team": "b"},
           "spec": {"size": 1, "tier": "huge"}}
    errors = list(jsonschema.Draft202012Validator(published).iter_errors(doc))
    assert [e.validator for e in errors] == ["enum"]


@pytest.mark.parametrize(
    ("teams", "expected"),
    [("teams: [{name: acme}, {name: acme-web}]", "acme-web"),
     ("teamPattern: '^[a-z]+$'\nteams: [{name: kube}]", "kube")],
)
def test_teams_that_could_reach_other_namespaces_are_refused(repo: Path, write: Write, teams: str,
                                                              expected: str) -> None:
    write("pledge.yaml", f"apiVersion: pledge.dev/v1\nkind: Platform\nenvironments: [{{name: dev}}]\n{teams}\n")
    code, out = run("validate", "--repo", str(repo))
    assert code == 2 and expected in out


def test_team_pattern_never_admits_reserved_names(repo: Path, write: Write) -> None:
    write("pledge.yaml", "apiVersion: pledge.dev/v1\nkind: Platform\nenvironments: [{name: dev}]\n"
          "teamPattern: '^[a-z]+$'\ncatalog: {bundled: false}\n")
    write("requests/dev/kube/x.yaml", request(name="x", team="kube"))
    code, out = run("validate", "--repo", str(repo), "--format", "json")
    assert code == 1 and "request.unknown-team" in out


def test_validate_of_a_missing_path_is_a_usage_error(repo: Path) -> None:
    # issue 11 item 12: a mistyped PATH validated nothing and exited 0
    code, out = run("validate", "--repo", str(repo), str(repo / "requests/dev/payments/nope.yaml"))
    assert code == 2 and "nope.yaml" in out and "does not exist" in out
    code, out = run("validate", "--repo", str(repo), str(repo / "requests/dev/payments/sessions.yaml"))
    assert code == 0, out
