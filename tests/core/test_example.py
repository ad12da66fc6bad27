"""The bundled example platform is valid, rendered, in sync, and builds with kustomize."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "platform"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_example_validates_and_is_in_sync() -> None:
    assert run("validate", "--repo", str(EXAMPLE)) == (0, run("validate", "--repo", str(EXAMPLE))[1])
    code, out = run("validate", "--repo", str(EXAMPLE), "--format", "json")
    assert code == 0 and '"conclusion": "success"' in out
    code, out = run("render", "--check", "--repo", str(EXAMPLE))
    assert code == 0, out


def test_example_covers_every_offering_in_dev_and_two_in_staging() -> None:
    kinds: dict[str, set[str]] = {}
    for path in (EXAMPLE / "requests").rglob("*.yaml"):
        kind = re.search(r"^kind: (\w+)$", path.read_text(), re.M)
        assert kind, path
        kinds.setdefault(path.relative_to(EXAMPLE / "requests").parts[0], set()).add(kind[1])
    assert kinds["dev"] == {"TeamSpace", "Postgres", "Bucket", "CIRunner", "Monitoring", "DevCluster"}
    assert len(kinds["staging"]) >= 2


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_kustomize_builds_each_environment(env: str) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed for this test (kubectl kustomize)"
    out = subprocess.run([kubectl, "kustomize", str(EXAMPLE / "environments" / env)], capture_output=True,
                         text=True, check=True).stdout
    assert "app.kubernetes.io/managed-by: pledge" in out


def test_published_schemas_are_current_and_referenced(tmp_path: Path) -> None:
    assert run("schemas", "--repo", str(EXAMPLE), "--out", str(tmp_path))[0] == 0
    committed = EXAMPLE / ".pledge" / "schemas"
    assert {p.name: p.read_bytes() for p in committed.iterdir()} == {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for path in (EXAMPLE / "requests").rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        ref = first.removeprefix("# yaml-language-server: $schema=")
        assert ref != first and (path.parent / ref).resolve().is_file(), path


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_flux_objects_validate_against_the_flux_crds(env: str) -> None:
    import yaml

    from tests.offerings.test_rendered_objects import validate_object

    files = sorted((EXAMPLE / "clusters" / env).glob("pledge-*.yaml"))
    kinds = set()
    for path in files:
        obj = yaml.safe_load(path.read_text())
        kinds.add(obj["kind"])
        assert validate_object(obj) == [], path
    assert kinds == {"GitRepository", "Kustomization", "Provider", "Alert"}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_rendered_objects_validate(env: str) -> None:
    """Every committed object of the example (the DevCluster's Flux HelmRelease and HelmRepository among them)
    passes the same CRD and built-in validation as the offering tests."""
    import yaml

    from tests.offerings.test_rendered_objects import validate_object

    kinds = set()
    for path in sorted((EXAMPLE / "environments" / env).rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        obj = yaml.safe_load(path.read_text())
        kinds.add(obj["kind"])
        assert validate_object(obj) == [], path
    assert "Namespace" in kinds
    if env in ("dev", "staging"):  # the example has a DevCluster in dev and in staging
        assert {"HelmRelease", "HelmRepository", "Role", "RoleBinding"} <= kinds
