"""Names and namespaces (issue 11, item 6): platform namespaces are nobody's, a team never reaches into another
team's namespace, and a cluster-scoped object cannot pass for a namespaced one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.core.conftest import request

Write = Callable[[str, str | bytes], Path]
TEMPLATE = "renderers/cache/v1/configmap.yaml.j2"
HEAD = ("apiVersion: pledge.dev/v1\nkind: Platform\nenvironments: [{name: dev}, {name: prod}]\n"
        "catalog: {bundled: false}\n")
PATTERN = HEAD + "teamPattern: '^[a-z][a-z0-9-]+$'\n"


def run(repo: Path, *args: str) -> tuple[int, list[tuple[str, str]], str]:
    result = CliRunner().invoke(main, [*args, "--repo", str(repo), "--format", "json"])
    try:
        found = [(f["path"], f["rule"]) for f in json.loads(result.output)["findings"]]
    except ValueError:
        found = []
    return result.exit_code, found, result.output


@pytest.mark.parametrize("team", ["cert-manager", "monitoring", "ingress-nginx", "openshift", "openshift-console",
                                  "flux-system", "kube-public", "default", "istio-system", "kyverno", "pledge"])
def test_a_team_pattern_never_admits_a_platform_namespace(repo: Path, write: Write, team: str) -> None:
    write("pledge.yaml", PATTERN)
    path = f"requests/dev/{team}/x.yaml"
    write(path, request(name="x", team=team))
    code, found, out = run(repo, "validate")
    assert code == 1 and (path, "request.unknown-team") in found, out


def test_a_listed_team_cannot_be_a_platform_namespace(repo: Path, write: Write) -> None:
    write("pledge.yaml", HEAD + "teams: [{name: payments}, {name: monitoring}]\n")
    code, _, out = run(repo, "validate")
    assert code == 2 and "monitoring" in out and "reserved" in out


def test_reserved_namespaces_are_configurable_but_the_clusters_own_stay(repo: Path, write: Write) -> None:
    write("pledge.yaml", PATTERN + "reservedNamespaces: [secrets, 'vault-*']\n")
    write("requests/dev/monitoring/x.yaml", request(name="x", team="monitoring"))  # no longer reserved here
    write("requests/dev/vault-a/x.yaml", request(name="x", team="vault-a"))
    write("requests/dev/kube-public/x.yaml", request(name="x", team="kube-public"))
    _, found, out = run(repo, "validate")
    assert sorted(p for p, r in found if r == "request.unknown-team") == [
        "requests/dev/kube-public/x.yaml", "requests/dev/vault-a/x.yaml"], out
    write("pledge.yaml", PATTERN + "reservedNamespaces: [1]\n")
    assert run(repo, "validate")[0] == 2


def _with_namespace_field(repo: Path) -> None:
    schema = repo / "schemas/cache/v1.yaml"
    schema.write_text(schema.read_text() + "  namespace:\n    type: string\n")


def test_a_team_cannot_ask_for_another_teams_namespace(repo: Path, write: Write) -> None:
    _with_namespace_field(repo)
    write("pledge.yaml", PATTERN)  # `payments-eu` is a name the pattern admits: it may be (or become) a team
    write("requests/dev/payments/sessions.yaml", request(namespace="payments-eu"))
    code, found, out = run(repo, "validate")
    assert code == 1 and found == [("requests/dev/payments/sessions.yaml", "request.namespace")], out
    write("requests/dev/payments/sessions.yaml", request(namespace="payments"))
    assert run(repo, "validate")[0] == 0


def test_a_renderer_cannot_write_into_another_teams_namespace(repo: Path, write: Write) -> None:
    write("pledge.yaml", PATTERN)
    write(TEMPLATE, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: {{ team ~ '-eu' }}\n")
    code, found, out = run(repo, "render")
    assert code == 1 and found == [(TEMPLATE, "catalog.confinement")], out
    assert "payments-eu" in out and not (repo / "environments/dev/payments").exists()


def test_with_listed_teams_the_team_keeps_its_dash_namespaces(repo: Path, write: Write) -> None:
    write(TEMPLATE, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: {{ team ~ '-eu' }}\n")
    code, _, out = run(repo, "render")  # minirepo lists payments and search: payments-eu is nobody else's
    assert code == 0, out


@pytest.mark.parametrize("gvk", ["rbac.authorization.k8s.io/v1beta1/ClusterRole", "kyverno.io/v1/ClusterPolicy",
                                 "external-secrets.io/v1beta1/ClusterSecretStore", "v1/Namespace"])
def test_a_cluster_scoped_kind_with_a_namespace_is_refused(repo: Path, write: Write, gvk: str) -> None:
    api, kind = gvk.rsplit("/", 1)
    schema = repo / "schemas/cache/v1.yaml"
    schema.write_text(schema.read_text().replace("renders: [v1/ConfigMap]", f"renders: [v1/ConfigMap, {gvk}]"))
    write(TEMPLATE, f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: payments\n  namespace: {{{{ namespace }}}}\n")
    code, found, out = run(repo, "render")
    assert code == 1 and found == [(TEMPLATE, "catalog.confinement")], out
    assert not (repo / "environments/dev/payments").exists()
