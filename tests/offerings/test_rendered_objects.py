"""Every bundled offering renders objects a cluster accepts.

For each environment, every rich request of tests/offerings/conftest.py is parsed and rendered through the
core (`bot.core.request.parse`, `bot.core.render.render_request`); then each rendered object is validated:
- CRD kinds against the upstream CRD's openAPIV3Schema (tests/crds/, see scripts/copy_crds.py), made strict
  by injecting `additionalProperties: false` wherever an object schema lists `properties` and allows
  nothing else, so a misspelt field fails; plus the CEL rules JSON Schema cannot run, checked by hand;
- `metadata` as a strict ObjectMeta, and built-in kinds whole, with kubernetes-validate (Kubernetes 1.33);
- the environment builds with `kubectl kustomize`, and the Flux objects validate against the Flux CRDs.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from bot.core.build import Build, render_requests
from bot.core.catalog import load_catalog
from bot.core.layout import index_files
from bot.core.platform import load_config
from bot.core.render import render_request
from bot.core.request import parse
from bot.core.tree import MemoryTree
from tests.offerings.conftest import CRDS, ENVS, OFFERINGS, PLEDGE, RICH, VERSIONS, rich_requests

K8S_VERSION = "1.33"
BUILTIN_GROUPS = ("", "rbac.authorization.k8s.io", "networking.k8s.io", "apps", "batch", "policy")


# ---------------------------------------------------------------------------------------------- schemas

def _fix_pattern(pattern: str) -> str:
    """Go RE2 allows inline flags anywhere (`^(?i)(abort|warn)?$`); Python wants them first."""
    flags = "".join(re.findall(r"\(\?([a-z]+)\)", pattern))
    return f"(?{flags})" + re.sub(r"\(\?[a-z]+\)", "", pattern) if flags else pattern


def strict(schema: Any) -> Any:
    """A copy of an OpenAPI schema with `additionalProperties: false` injected along properties, items and
    additionalProperties (never inside allOf/anyOf/oneOf/not), where a schema has `properties` and neither
    `additionalProperties` nor `x-kubernetes-preserve-unknown-fields: true`."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "pattern" in out and isinstance(out["pattern"], str):
        out["pattern"] = _fix_pattern(out["pattern"])
    if "properties" in out:
        out["properties"] = {k: strict(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("items"), dict):
        out["items"] = strict(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(out["additionalProperties"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [_patterns_only(s) for s in out[key]]
    return out


def _patterns_only(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: (_fix_pattern(v) if k == "pattern" and isinstance(v, str) else _patterns_only(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_patterns_only(v) for v in schema]
    return schema


@cache
def crd_index() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> {"schema": strict validator schema, "raw": original schema, "scope"}."""
    index: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRDS.glob("*.json")):
        if path.name == "SOURCES.json":
            continue
        crd = json.loads(path.read_text())
        for version, schema in crd["versions"].items():
            index[(f"{crd['group']}/{version}", crd["kind"])] = {
                "raw": schema, "schema": strict(schema), "scope": crd["scope"], "file": path.name,
            }
    return index


def _cel_required(raw: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """Upjet states required parameters as CEL (`spec.forProvider.X is a required parameter`), which JSON
    Schema libraries skip: check them by hand (managementPolicies here always include Create or `*`)."""
    problems = []
    for rule in raw["properties"]["spec"].get("x-kubernetes-validations", []):
        m = re.fullmatch(r"spec\.forProvider\.(\w+) is a required parameter", rule.get("message", ""))
        if m and m.group(1) not in obj["spec"].get("forProvider", {}) \
                and m.group(1) not in obj["spec"].get("initProvider", {}):
            problems.append(rule["message"])
    return problems


def _cel_known(obj: dict[str, Any]) -> list[str]:
    """The other CEL rules of the CRDs that the renderers could break."""
    problems = []
    spec = obj.get("spec", {})
    if obj["kind"] == "Cluster" and "imageName" in spec and "imageCatalogRef" in spec:
        problems.append("imageName and imageCatalogRef are mutually exclusive")
    if obj["kind"] == "Cluster" and "imageCatalogRef" in spec:
        ref = spec["imageCatalogRef"]
        if ref.get("kind") not in ("ImageCatalog", "ClusterImageCatalog") \
                or ref.get("apiGroup") != "postgresql.cnpg.io":
            problems.append("Only image catalogs are supported")
    if obj["kind"] == "HelmRelease" and ("chart" in spec) == ("chartRef" in spec):
        problems.append("either chart or chartRef must be set")
    return problems


def validate_object(obj: dict[str, Any]) -> list[str]:
    """Why a rendered object would be refused by the API server (empty when it would not)."""
    api, kind = obj["apiVersion"], obj["kind"]
    group = api.rsplit("/", 1)[0] if "/" in api else ""
    problems: list[str] = []
    if (api, kind) in crd_index():
        try:  # metadata as a strict ObjectMeta (the CRD schemas only say `type: object`)
            kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
                                         K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"metadata: {exc}")
        entry = crd_index()[(api, kind)]
        validator = jsonschema.Draft202012Validator(entry["schema"], format_checker=jsonschema.FormatChecker())
        for err in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            where = ".".join(map(str, err.absolute_path)) or "(top)"
            problems.append(f"{where}: {err.message} (CRD {entry['file']})")
        problems += _cel_required(entry["raw"], obj) + _cel_known(obj)
    elif group in BUILTIN_GROUPS or group.endswith(".k8s.io"):
        try:
            kubernetes_validate.validate(copy.deepcopy(obj), K8S_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            problems.append(f"{exc}")
    else:
        problems.append(f"no schema for {api}/{kind}: copy its CRD with scripts/copy_crds.py")
    return problems


# ---------------------------------------------------------------------------------------------- render

@cache
def rendered(env: str) -> dict[str, list[dict[str, Any]]]:
    """request path -> rendered objects, for every rich request in `env` (any finding fails the test)."""
    tree = MemoryTree({"pledge.yaml": PLEDGE, **rich_requests(env)})
    config = load_config(tree)
    catalog = load_catalog(tree)
    assert catalog.findings == [], catalog.findings
    out: dict[str, list[dict[str, Any]]] = {}
    for path, raw in rich_requests(env).items():
        req, findings = parse(path, raw, catalog, config)
        # v1 Postgres is deprecated: its requests carry exactly that warning, nothing else
        expected = {"lifecycle.deprecated"} if req is not None and req.offering.lifecycle == "deprecated" else set()
        assert req is not None and {f.rule for f in findings} == expected, (path, findings)
        result, findings = render_request(req, config)
        assert findings == [], (path, findings)
        out[path] = result.objects
    return out


def _cases() -> list[tuple[str, str]]:
    return [(env, f"requests/{env}/payments/{name}.yaml") for env in ENVS
            for requests in RICH.values() for name in requests]


@pytest.mark.parametrize(("env", "path"), _cases(), ids=[p for _, p in _cases()])
def test_rendered_objects_validate(env: str, path: str) -> None:
    objects = rendered(env)[path]
    assert objects, f"{path} rendered nothing"
    problems = {f"{o['kind']}/{o['metadata']['name']}": validate_object(o) for o in objects}
    assert {k: v for k, v in problems.items() if v} == {}


def test_every_declared_kind_is_rendered_and_validated() -> None:
    """Each offering's x-pledge.renders matches what its templates emit across the rich requests."""
    catalog = load_catalog(MemoryTree({"pledge.yaml": PLEDGE}))
    emitted: dict[tuple[str, str], set[str]] = {}
    for env in ENVS:
        for objects in rendered(env).values():
            for obj in objects:
                source = obj["metadata"]["labels"]["pledge.dev/request"]
                offering = next(o for o in OFFERINGS if source.startswith(o + "-"))
                version = VERSIONS.get(source.removeprefix(offering + "-"), "v1")
                emitted.setdefault((offering, version), set()).add(f"{obj['apiVersion']}/{obj['kind']}")
    for offering in catalog.offerings.values():
        assert emitted[(offering.name, offering.version)] == offering.renders, offering.api_version
    assert set(emitted) == {(o.name, o.version) for o in catalog.offerings.values()}
    assert {name for name, _ in emitted} == set(OFFERINGS)


def test_strict_schemas_catch_misspelt_fields() -> None:
    """The injected additionalProperties really bites (a typo in a renderer would not pass silently)."""
    cluster = copy.deepcopy(next(o for o in rendered("prod")["requests/prod/payments/orders.yaml"]
                                 if o["kind"] == "Cluster"))
    cluster["spec"]["instnces"] = 3
    cluster["spec"]["storage"]["szie"] = "1Gi"
    problems = validate_object(cluster)
    assert any("instnces" in p for p in problems) and any("szie" in p for p in problems), problems
    bucket = copy.deepcopy(rendered("prod")["requests/prod/payments/scratch.yaml"][0])
    del bucket["spec"]["forProvider"]["region"]
    assert validate_object(bucket), "a Bucket without region must fail"
    quota = copy.deepcopy(next(o for o in rendered("dev")["requests/dev/payments/batch.yaml"]
                               if o["kind"] == "ResourceQuota"))
    quota["spec"]["hrad"] = quota["spec"].pop("hard")
    assert validate_object(quota)
    quota = copy.deepcopy(next(o for o in rendered("dev")["requests/dev/payments/batch.yaml"]
                               if o["kind"] == "ResourceQuota"))
    quota["metadata"]["lables"] = {"a": "b"}
    assert validate_object(quota)
    cluster = copy.deepcopy(next(o for o in rendered("prod")["requests/prod/payments/orders.yaml"]
                                 if o["kind"] == "Cluster"))
    cluster["metadata"]["labels"]["version"] = 1.0  # not a string: only ObjectMeta knows
    assert any(p.startswith("metadata") for p in validate_object(cluster))
    release = copy.deepcopy(_objects("dev", "sandbox")["HelmRelease/sandbox"])
    release["spec"]["relaseName"] = "x"
    release["spec"]["chart"]["spec"]["sourceRef"]["knd"] = "HelmRepository"
    problems = validate_object(release)
    assert any("relaseName" in p for p in problems) and any("knd" in p for p in problems), problems
    release = copy.deepcopy(_objects("prod", "sandbox")["HelmRelease/sandbox"])
    release["spec"]["chart"] = {"spec": {"chart": "vcluster", "sourceRef": {"kind": "HelmRepository", "name": "x"}}}
    assert "either chart or chartRef must be set" in validate_object(release)
    source = copy.deepcopy(_objects("prod", "sandbox")["OCIRepository/sandbox"])
    source["spec"]["ref"]["tga"] = source["spec"]["ref"].pop("tag")
    assert any("tga" in p for p in validate_object(source))
    repo = copy.deepcopy(_objects("dev", "sandbox")["HelmRepository/sandbox"])
    repo["spec"]["url"] = "charts.loft.sh"  # no scheme: the CRD's pattern refuses it
    assert validate_object(repo)


# ---------------------------------------------------------------------------------------------- details

def _objects(env: str, name: str) -> dict[str, dict[str, Any]]:
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in rendered(env)[f"requests/{env}/payments/{name}.yaml"]}


def test_teamspace_names_and_confinement() -> None:
    assert "Namespace/payments" in _objects("dev", "payments")
    assert "Namespace/payments-batch" in _objects("dev", "batch")
    batch = _objects("dev", "batch")
    assert {o["metadata"].get("namespace") for k, o in batch.items() if not k.startswith("Namespace/")} == {
        "payments-batch"}
    binding = batch["RoleBinding/payments-edit"]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": "acme:payments"}]
    ns = _objects("prod", "payments")["Namespace/payments"]
    assert ns["metadata"]["annotations"]["pledge.dev/description"].startswith("Payments API and workers: kind:")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    prod = _objects("prod", "payments")
    api_server = prod["NetworkPolicy/allow-kube-apiserver"]["spec"]["egress"][0]
    assert api_server["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    assert "NetworkPolicy/allow-kube-apiserver" not in _objects("dev", "payments")
    assert "NetworkPolicy/allow-same-namespace" not in _objects("dev", "ci")


def test_postgres_backups_and_image() -> None:
    dev = _objects("dev", "orders")
    assert dev["Cluster/orders"]["spec"]["imageName"] == "ghcr.io/cloudnative-pg/postgresql:17-system-trixie"
    store = dev["Cluster/orders"]["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "s3://pledge-pg-backups-dev/payments"
    assert store["s3Credentials"]["accessKeyId"] == {"name": "orders-backup-s3", "key": "ACCESS_KEY_ID"}
    assert dev["ScheduledBackup/orders-scheduled"]["spec"]["schedule"] == "0 30 1 * * *"
    prod = _objects("prod", "orders")["Cluster/orders"]["spec"]
    assert prod["imageCatalogRef"] == {"apiGroup": "postgresql.cnpg.io", "kind": "ClusterImageCatalog",
                                       "name": "postgresql", "major": 17}
    assert prod["backup"]["barmanObjectStore"]["s3Credentials"] == {"inheritFromIAMRole": True}
    assert prod["serviceAccountTemplate"]["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/pledge-pg-backup"}
    assert list(_objects("dev", "cache-db")) == ["Cluster/cache-db"]
    assert _objects("dev", "cache-db")["Cluster/cache-db"]["spec"]["enablePDB"] is False


def test_bucket_defaults_are_private_encrypted_versioned() -> None:
    objs = _objects("dev", "scratch")
    assert objs["Bucket/scratch"]["metadata"]["annotations"]["crossplane.io/external-name"] == "dev-payments-scratch"
    assert objs["BucketVersioning/scratch"]["spec"]["forProvider"]["versioningConfiguration"] == {"status": "Enabled"}
    rule = objs["BucketServerSideEncryptionConfiguration/scratch"]["spec"]["forProvider"]["rule"][0]
    assert rule == {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}
    block = objs["BucketPublicAccessBlock/scratch"]["spec"]["forProvider"]
    assert all(block[k] is True for k in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy",
                                          "restrictPublicBuckets"))
    prod = _objects("prod", "scratch")["Bucket/scratch"]
    assert prod["metadata"]["annotations"]["crossplane.io/external-name"] == "acme-prod-payments-scratch"
    assert prod["spec"]["providerConfigRef"] == {"kind": "ClusterProviderConfig", "name": "aws-prod"}
    assert prod["spec"]["forProvider"]["tags"]["cost-centre"] == "cc-1234"
    retained = _objects("dev", "assets")["Bucket/assets"]["spec"]["managementPolicies"]
    assert "Delete" not in retained and "*" not in retained


def test_ci_runner_modes() -> None:
    kube = _objects("dev", "linux")
    assert set(kube) == {"AutoscalingRunnerSet/linux", "ServiceAccount/linux-runner", "Role/linux-runner",
                         "RoleBinding/linux-runner"}
    pod = kube["AutoscalingRunnerSet/linux"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "linux-runner"
    env = {e["name"] for e in pod["containers"][0]["env"]}
    assert {"ACTIONS_RUNNER_CONTAINER_HOOKS", "ACTIONS_RUNNER_POD_NAME"} <= env
    dind = _objects("dev", "docker")["AutoscalingRunnerSet/docker"]["spec"]["template"]["spec"]
    assert [c["name"] for c in dind["initContainers"]] == ["init-dind-externals", "dind"]
    assert dind["initContainers"][1]["restartPolicy"] == "Always"
    plain = _objects("dev", "plain")
    assert list(plain) == ["AutoscalingRunnerSet/plain"]
    spec = plain["AutoscalingRunnerSet/plain"]["spec"]
    assert (spec["minRunners"], spec["maxRunners"], spec["runnerScaleSetName"]) == (0, 5, "plain")


def test_monitoring_dashboard_is_valid_json() -> None:
    objs = _objects("prod", "api")
    config_map = objs["ConfigMap/api-dashboard"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"]["grafana_folder"] == "payments"
    board = json.loads(config_map["data"]["api.json"])
    assert board["title"] == 'Payments API </script> "prod"'
    assert [p["gridPos"] for p in board["panels"]] == [
        {"h": 8, "w": 12, "x": 0, "y": 0}, {"h": 8, "w": 6, "x": 12, "y": 0},
        {"h": 8, "w": 8, "x": 0, "y": 8}, {"h": 8, "w": 24, "x": 0, "y": 16}, {"h": 8, "w": 12, "x": 0, "y": 24}]
    expr = board["panels"][0]["targets"][0]["expr"]
    assert expr == 'sum by (code) (rate(http_requests_total{job="payments-api"}[5m]))'
    rules = objs["PrometheusRule/api"]["spec"]["groups"]
    alert = rules[1]["rules"][0]
    assert alert["labels"] == {"severity": "critical", "team": "payments", "environment": "prod"}
    assert alert["annotations"]["summary"] == "More than 5% of requests fail on {{ $labels.instance }}"
    assert objs["ServiceMonitor/api"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert set(_objects("dev", "worker")) == {"ServiceMonitor/worker"}


def test_dev_cluster_from_a_helm_repository_with_defaults() -> None:
    objs = _objects("dev", "scratch-k8s")
    assert set(objs) == {"HelmRepository/scratch-k8s", "HelmRelease/scratch-k8s",
                         "Role/scratch-k8s-vcluster-admin", "RoleBinding/scratch-k8s-vcluster-admin"}
    assert {o["metadata"]["annotations"]["pledge.dev/ttl"] for o in objs.values()} == {"7d"}
    assert objs["HelmRepository/scratch-k8s"]["spec"]["url"] == "https://charts.loft.sh"
    release = objs["HelmRelease/scratch-k8s"]["spec"]
    assert release["releaseName"] == "scratch-k8s" and "chartRef" not in release
    assert release["chart"]["spec"] == {"chart": "vcluster", "version": "0.36.1", "interval": "1h",
                                        "sourceRef": {"kind": "HelmRepository", "name": "scratch-k8s"}}
    values = release["values"]
    k8s = values["controlPlane"]["distro"]["k8s"]
    assert (k8s["enabled"], k8s["version"]) == (True, "v1.36.0") and "apiServer" not in k8s
    stateful = values["controlPlane"]["statefulSet"]
    assert stateful["resources"] == {"requests": {"cpu": "200m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                                     "limits": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "8Gi"}}
    assert stateful["persistence"]["volumeClaim"] == {"enabled": True, "size": "5Gi", "retentionPolicy": "Delete"}
    assert stateful["security"]["podSecurityContext"]["runAsNonRoot"] is True
    assert "sync" not in values and values["telemetry"] == {"enabled": False}
    # admin: the team's group reads the kubeconfig Secret and is cluster-admin inside
    binding = objs["RoleBinding/scratch-k8s-vcluster-admin"]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": "acme:payments"}]
    rules = objs["Role/scratch-k8s-vcluster-admin"]["rules"]
    assert {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["vc-scratch-k8s"],
            "verbs": ["get"]} in rules
    assert {"apiGroups": [""], "resources": ["pods/portforward"], "resourceNames": ["scratch-k8s-0"],
            "verbs": ["get", "create"]} in rules
    inside = _vcluster_manifests(values)
    assert [m["subjects"] for m in inside] == [[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                                 "name": "acme:payments"}]]


def _vcluster_manifests(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects vcluster applies inside the virtual cluster, validated as built-in kinds."""
    docs = [d for d in yaml.safe_load_all(values["experimental"]["deploy"]["vcluster"]["manifests"]) if d]
    for doc in docs:
        assert validate_object(doc) == [], doc
    return docs


def test_dev_cluster_requested_fields() -> None:
    objs = _objects("dev", "sandbox")
    release = objs["HelmRelease/sandbox"]
    assert release["metadata"]["annotations"]["pledge.dev/description"].startswith("Integration tests: kind:")
    values = release["spec"]["values"]
    assert values["controlPlane"]["distro"]["k8s"]["version"] == "v1.34.0"
    stateful = values["controlPlane"]["statefulSet"]
    assert stateful["resources"]["requests"]["cpu"] == "500m" and stateful["resources"]["limits"]["memory"] == "4Gi"
    assert stateful["persistence"]["volumeClaim"]["size"] == "10Gi"
    assert stateful["persistence"]["volumeClaim"]["storageClass"] == "fast-ssd"
    assert stateful["pods"]["labels"]["cost-centre"] == "cc-1234"
    assert values["controlPlane"]["advanced"]["globalMetadata"]["annotations"] == {
        "pledge.dev/ttl": "5d", "pledge.dev/source": "requests/dev/payments/sandbox.yaml"}
    assert values["sync"] == {"toHost": {"ingresses": {"enabled": True}},
                              "fromHost": {"ingressClasses": {"enabled": True}}}
    groups = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}
              for g in ("acme:payments", "acme:sre-oncall")]
    assert objs["RoleBinding/sandbox-vcluster-admin"]["subjects"] == groups
    assert _vcluster_manifests(values)[0]["subjects"] == groups
    large = _objects("dev", "load-test")["HelmRelease/load-test"]
    assert large["metadata"]["namespace"] == "payments-batch"
    limits = large["spec"]["values"]["controlPlane"]["statefulSet"]["resources"]["limits"]
    assert (limits["cpu"], limits["memory"]) == ("4", "8Gi")
    assert large["spec"]["values"]["controlPlane"]["distro"]["k8s"]["version"] == "v1.30.2"


def test_dev_cluster_from_an_oci_mirror_with_environment_values() -> None:
    objs = _objects("prod", "sandbox")
    assert "HelmRepository/sandbox" not in objs
    source = objs["OCIRepository/sandbox"]["spec"]
    assert source["url"] == "oci://registry.acme.example/charts/vcluster" and source["ref"] == {"tag": "0.36.1"}
    assert source["layerSelector"]["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    release = objs["HelmRelease/sandbox"]["spec"]
    assert release["chartRef"] == {"kind": "OCIRepository", "name": "sandbox"} and "chart" not in release
    assert (release["interval"], release["serviceAccountName"]) == ("5m", "helm-tenant")
    values = release["values"]
    assert values["controlPlane"]["distro"]["k8s"]["apiServer"]["extraArgs"] == [
        "--oidc-issuer-url=https://dex.acme.example", "--oidc-client-id=kubernetes",
        "--oidc-username-claim=email", "--oidc-groups-claim=groups"]
    assert values["controlPlane"]["advanced"]["defaultImageRegistry"] == "registry.acme.example"
    assert values["sync"]["fromHost"]["ingressClasses"]["selector"] == {
        "matchLabels": {"acme.example/tenant-facing": "true"}}
    assert _objects("prod", "scratch-k8s")["HelmRelease/scratch-k8s"]["spec"]["values"]["controlPlane"][
        "statefulSet"]["persistence"]["volumeClaim"]["storageClass"] == "gp3"


def test_dev_cluster_admin_groups_stay_data() -> None:
    """A group name that looks like JSON or YAML stays one subject of the one ClusterRoleBinding vcluster applies
    inside (the manifest is a JSON string) and one subject of the host RoleBinding."""
    evil = 'x"}]}, {"kind": "ClusterRole", "metadata": {"name": "pwn"}} --- kind: Secret #'
    raw = yaml.safe_dump({"apiVersion": "pledge.dev/v1", "kind": "DevCluster",
                          "metadata": {"name": "evil", "team": "payments"},
                          "spec": {"adminGroups": [evil, "acme:payments"]}}).encode()
    tree = MemoryTree({"pledge.yaml": PLEDGE})
    config, catalog = load_config(tree), load_catalog(tree)
    req, findings = parse("requests/dev/payments/evil.yaml", raw, catalog, config)
    assert req is not None and findings == [], findings
    result, findings = render_request(req, config)
    assert findings == []
    objs = {f"{o['kind']}/{o['metadata']['name']}": o for o in result.objects}
    inside = _vcluster_manifests(objs["HelmRelease/evil"]["spec"]["values"])
    assert [(m["kind"], [s["name"] for s in m["subjects"]]) for m in inside] == [
        ("ClusterRoleBinding", [evil, "acme:payments"])]
    assert [s["name"] for s in objs["RoleBinding/evil-vcluster-admin"]["subjects"]] == [evil, "acme:payments"]


def test_dev_cluster_every_kubernetes_version_has_a_distro_image() -> None:
    """Each version the schema offers maps to the image tag vcluster 0.36 ships for that minor version."""
    tree = MemoryTree({"pledge.yaml": PLEDGE})
    config, catalog = load_config(tree), load_catalog(tree)
    offering = next(o for o in catalog.offerings.values() if o.kind == "DevCluster")
    versions = offering.schema["properties"]["kubernetesVersion"]["enum"]
    tags = []
    for version in versions:
        raw = (f"apiVersion: pledge.dev/v1\nkind: DevCluster\nmetadata: {{name: v, team: payments}}\n"
               f"spec: {{kubernetesVersion: '{version}'}}\n").encode()
        req, findings = parse("requests/dev/payments/v.yaml", raw, catalog, config)
        assert req is not None and findings == [], findings
        result, findings = render_request(req, config)
        assert findings == []
        release = next(o for o in result.objects if o["kind"] == "HelmRelease")
        tags.append(release["spec"]["values"]["controlPlane"]["distro"]["k8s"]["version"])
    assert [re.sub(r"^v(1\.\d+)\.\d+$", r"\1", t) for t in tags] == versions


# ---------------------------------------------------------------------------------------------- kustomize

@pytest.fixture(scope="module")
def rendered_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every rich request of every environment rendered by the core into a folder (environments/, clusters/)."""
    files: dict[str, bytes] = {"pledge.yaml": PLEDGE}
    for env in ENVS:
        files.update(rich_requests(env))
    tree = MemoryTree(files)
    config = load_config(tree)
    catalog = load_catalog(tree)
    # the rich requests exercise every field, so some break request policies (dind in prod, ...), which
    # would stop `pledge render`; here they are rendered anyway (parse, then render) to build every object
    requests = [parse(p, tree.read(p), catalog, config)[0] for p in sorted(files) if p.startswith("requests/")]
    assert all(r is not None for r in requests)
    build = Build()
    out = render_requests([r for r in requests if r is not None], config, catalog, build)
    assert [f for f in build.findings if f.severity == "error"] == []
    assert sorted(build.rendered) == sorted(p for p in files if p.startswith("requests/"))
    out.update(index_files({p.rsplit("/", 1)[0] for p in out}, config))
    root = tmp_path_factory.mktemp("platform")
    for path, data in out.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


@pytest.mark.parametrize("env", ENVS)
def test_kubectl_kustomize_builds_environment(rendered_repo: Path, env: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: install kubectl (https://kubernetes.io/docs/tasks/tools/) to run "
                    "this test; it checks that `kubectl kustomize environments/<env>` builds")
    out = subprocess.run([kubectl, "kustomize", f"environments/{env}"], cwd=rendered_repo,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    built = [d for d in yaml.safe_load_all(out.stdout) if d]
    # kustomize neither drops nor changes anything: the objects are the ones validated one by one above
    ids = sorted((o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in built)
    expected = sorted((o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
                      for objs in rendered(env).values() for o in objs)
    assert ids == expected
    by_id = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in built}
    for objs in rendered(env).values():
        for obj in objs:
            assert by_id[(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] == obj


@pytest.mark.parametrize("env", ENVS)
def test_flux_objects_validate(rendered_repo: Path, env: str) -> None:
    for path in sorted((rendered_repo / "clusters" / env).glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        assert validate_object(obj) == [], path
