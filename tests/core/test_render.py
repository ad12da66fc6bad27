"""Rendering: YAML-safe interpolation, confinement to the team's namespaces, catalog faults blamed on the catalog."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.core.build import render_full, render_incremental
from bot.core.catalog import load_catalog
from bot.core.platform import load_config
from bot.core.tree import DirTree
from tests.core.conftest import request

Write = Callable[[str, str | bytes], Path]
TEMPLATE = "renderers/cache/v1/configmap.yaml.j2"
OUT = "environments/dev/payments/cache-sessions"


def run(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--repo", str(repo)])
    return result.exit_code, result.output


def build(repo: Path, *, incremental: bool = False):  # type: ignore[no-untyped-def]
    tree = DirTree(repo)
    config = load_config(tree)
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    return (render_incremental if incremental else render_full)(tree, config, catalog)


def test_render_writes_layout_and_is_idempotent(repo: Path) -> None:
    code, out = run(repo, "render")
    assert code == 0, out
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")
                   if p.is_file() and p.parts[len(repo.parts)] in ("environments", "clusters"))
    assert files == sorted([
        "clusters/dev/pledge-environment.yaml", "clusters/dev/pledge-source.yaml",
        "clusters/prod/pledge-environment.yaml", "clusters/prod/pledge-source.yaml",
        f"{OUT}/configmap-cache-sessions.yaml", f"{OUT}/kustomization.yaml",
        "environments/dev/kustomization.yaml", "environments/dev/payments/kustomization.yaml",
        "environments/prod/kustomization.yaml",
    ])
    obj = yaml.safe_load((repo / OUT / "configmap-cache-sessions.yaml").read_text())
    assert obj["metadata"]["namespace"] == "payments"
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pledge"
    assert obj["metadata"]["annotations"]["pledge.dev/source"] == "requests/dev/payments/sessions.yaml"
    before = {p: p.read_bytes() for p in repo.rglob("*.yaml")}
    assert all(b.endswith(b"\n") for b in before.values())
    assert run(repo, "render") == (0, run(repo, "render")[1])
    assert {p: p.read_bytes() for p in repo.rglob("*.yaml")} == before
    assert build(repo, incremental=True).plan == {}
    assert build(repo).plan == {}
    assert run(repo, "render", "--check")[0] == 0


def test_render_check_reports_hand_edits(repo: Path) -> None:
    run(repo, "render")
    target = repo / OUT / "configmap-cache-sessions.yaml"
    target.write_text(target.read_text().replace("session store", "edited"))
    (repo / "environments/dev/payments/stray.yaml").write_text("kind: Secret\n")
    code, out = run(repo, "render", "--check", "--format", "json")
    assert code == 1
    assert f"{OUT}/configmap-cache-sessions.yaml" in out and "stray.yaml" in out
    assert "render.drift" in out
    assert "edited" in target.read_text()  # --check wrote nothing


def test_incremental_render_touches_only_the_changed_request(repo: Path, write: Write) -> None:
    write("requests/dev/search/index.yaml", request(name="index", team="search"))
    run(repo, "render")
    write("requests/dev/search/index.yaml", request(name="index", team="search", size=3))
    result = build(repo, incremental=True)
    assert result.rendered == ["requests/dev/search/index.yaml"] and result.kept == 1
    assert sorted(result.plan) == ["environments/dev/search/cache-index/configmap-cache-index.yaml",
                                   "environments/dev/search/cache-index/kustomization.yaml"]


def test_deleting_and_moving_requests_removes_their_folders(repo: Path, write: Write) -> None:
    run(repo, "render")
    (repo / "requests/dev/payments/sessions.yaml").unlink()
    write("requests/prod/payments/sessions.yaml", request(size=8))
    assert run(repo, "render")[0] == 0
    assert not (repo / OUT).exists()
    assert not (repo / "environments/dev/payments").exists()
    assert (repo / "environments/prod/payments/cache-sessions/configmap-cache-sessions.yaml").exists()
    assert build(repo).plan == {}


def test_newline_and_kind_in_a_value_stay_a_string(repo: Path, write: Write) -> None:
    evil = "x\\nkind: ClusterRole\\n---\\napiVersion: v1\\nkind: Secret"
    write("requests/dev/payments/sessions.yaml", request(description=f'"{evil}"'))
    assert run(repo, "render")[0] == 0
    docs = list(yaml.safe_load_all((repo / OUT / "configmap-cache-sessions.yaml").read_text()))
    assert len(docs) == 1 and docs[0]["kind"] == "ConfigMap"
    assert docs[0]["data"]["description"] == "x\nkind: ClusterRole\n---\napiVersion: v1\nkind: Secret"
    assert sorted(p.name for p in (repo / OUT).iterdir()) == ["configmap-cache-sessions.yaml", "kustomization.yaml"]


@pytest.mark.parametrize(
    ("template", "rule", "line"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: {{ nope }}\n",
         "catalog.template-error", 5),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n",
         "catalog.confinement", 1),
        ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: {{ namespace }}\n",
         "catalog.confinement", 1),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other-team\n", "catalog.confinement", 1),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "catalog.confinement", 1),
        ("{% if %}", "catalog.template-error", 1),
        ("a: [{{ name }}\n", "catalog.template-output", 1),
        ("{{ ''.__class__.__mro__ }}\n", "catalog.template-error", 1),
    ],
)
def test_catalog_faults_are_attributed_to_the_catalog(repo: Path, write: Write, template: str,
                                                     rule: str, line: int) -> None:
    write(TEMPLATE, template)
    code, out = run(repo, "render", "--format", "json")
    assert code == 1
    import json

    findings = json.loads(out)["findings"]
    assert [(f["path"], f["rule"], f["line"]) for f in findings] == [(TEMPLATE, rule, line)]
    assert not (repo / "environments/dev/payments").exists()  # nothing written for the broken request


def test_kustomize_builds_the_rendered_environment(repo: Path) -> None:
    run(repo, "render")
    out = subprocess.run(["kubectl", "kustomize", str(repo / "environments/dev")], capture_output=True,
                         text=True, check=True).stdout
    assert "name: cache-sessions" in out and "namespace: payments" in out


def test_a_request_failing_its_policies_is_not_rendered(repo: Path, write: Write) -> None:
    write("requests/prod/payments/tiny.yaml", request(name="tiny", size=1))  # prod needs size >= 4
    code, out = run(repo, "render", "--format", "json")
    assert code == 1 and "policy.cache-limits/prod-size" in out
    assert not (repo / "environments/prod/payments").exists()
    assert not (repo / OUT).exists()  # issue 11 item 12: with an invalid request in the tree nothing is written


def test_foreign_namespace_is_the_developers_error_not_the_catalogs(repo: Path, write: Write) -> None:
    schema = repo / "schemas/cache/v1.yaml"
    schema.write_text(schema.read_text() + "  namespace:\n    type: string\n")
    write("requests/dev/payments/sessions.yaml", request(namespace="search"))
    code, out = run(repo, "render", "--format", "json")
    import json

    assert code == 1
    assert [(f["path"], f["rule"], f["line"]) for f in json.loads(out)["findings"]] == [
        ("requests/dev/payments/sessions.yaml", "request.namespace", 8)]


@pytest.mark.parametrize("name", ["../../escape", "a/b", ".", "x" * 300, "UPPER"])
def test_object_names_must_be_kubernetes_names(repo: Path, write: Write, name: str) -> None:
    write(TEMPLATE, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + json.dumps(name)
          + "\n  namespace: {{ namespace }}\n")
    code, out = run(repo, "render", "--format", "json")
    assert code == 1
    assert [(f["path"], f["rule"]) for f in json.loads(out)["findings"]] == [(TEMPLATE, "catalog.confinement")]
    assert not (repo / "environments/dev/payments").exists()


def test_control_characters_from_a_request_stay_the_requests_string(repo: Path, write: Write) -> None:
    write("requests/dev/payments/sessions.yaml", request(description='"a\\x80b\\x7fc"'))
    code, out = run(repo, "render")
    assert code == 0, out
    obj = yaml.safe_load((repo / OUT / "configmap-cache-sessions.yaml").read_text())
    assert obj["data"]["description"] == "a\x80b\x7fc"


def test_render_never_writes_through_a_symlinked_folder(repo: Path, tmp_path: Path) -> None:
    outside = repo / "docs"  # inside the repository, but not a folder Pledge owns
    outside.mkdir()
    (repo / "environments").mkdir()
    (repo / "environments/dev").symlink_to(outside, target_is_directory=True)
    code, out = run(repo, "render")
    assert code == 2 and "refusing to write" in out
    assert list(outside.iterdir()) == []


def test_a_template_cannot_change_shared_state(repo: Path, write: Write) -> None:
    write(TEMPLATE, "{% set _ = config.update({'environments': []}) %}{% set _ = request.update({'kind': 'X'}) %}"
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ 'cache-' ~ name }}\n  namespace: {{ namespace }}\n")
    write("requests/dev/search/index.yaml", request(name="index", team="search"))
    code, out = run(repo, "render")
    assert code == 0, out
    assert (repo / "environments/dev/search/cache-index").is_dir()  # the second request saw intact data


@pytest.mark.parametrize("written", ['"a\u0085b"', "a\u0085b", "'a\u0085b'", '"a\\x85b"', '"a\\Nb"'])
def test_nel_in_a_request_keeps_its_bytes(repo: Path, write: Write, written: str) -> None:
    # issue 11 item 10: libyaml reads U+0085 (NEL) as a line break, so "a<NEL>b" came out as "a b" (or broke)
    write("requests/dev/payments/sessions.yaml", request(description=written))
    code, out = run(repo, "render")
    assert code == 0, out
    text = (repo / OUT / "configmap-cache-sessions.yaml").read_text()
    assert "\u0085" not in text  # escaped in the output: Flux's YAML reader would fold it too
    assert yaml.safe_load(text)["data"]["description"] == "a\x85b"
