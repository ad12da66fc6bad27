"""deploy/: `kubectl kustomize` builds base and both overlays; every object validates against the Kubernetes
1.33 schemas in strict mode (kubernetes-validate, as tests/offerings/test_rendered_objects.py does); and the
objects say what the App needs: hardened pods, secrets only by reference to the `pledge` Secret, PLEDGE_*
names that bot/app/settings.py really reads, probes on routes the Flask app really has, selectors that
select, and per overlay the storage and queue layout described in docs/deploy.md."""

from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.deploytest import K8S_VERSION, SECRET, SECRET_KEYS, build, containers, of_kind, pod_specs

TARGETS = ["base", "overlays/single", "overlays/scaled"]
UID = 10001


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_validates_strictly(target: str) -> None:
    objs = build(target)
    assert objs
    for obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(of_kind(build("overlays/single"), "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_pods_are_hardened(target: str) -> None:
    objs = build(target)
    for deployment, template in pod_specs(objs):
        spec = template["spec"]
        where = deployment["metadata"]["name"]
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["enableServiceLinks"] is False, f"{where}: the Service `pledge` would inject PLEDGE_* names"
        assert spec["serviceAccountName"] == "pledge"
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == UID and pod["runAsGroup"] == UID, where
        assert pod["fsGroup"] == UID, f"{where}: volumes (the PVC, the key) must be writable/readable by {UID}"
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, (where, c["name"])
            assert sc["allowPrivilegeEscalation"] is False, (where, c["name"])
            assert sc["capabilities"] == {"drop": ["ALL"]}, (where, c["name"])
            assert sc.get("privileged", False) is False
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
            assert c["resources"]["limits"]["memory"], (where, c["name"])
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], "/tmp is writable scratch on a read-only root"
            env = {e["name"]: e for e in c["env"]}
            data_dir = env["PLEDGE_DATA_DIR"]["value"]
            assert data_dir in mounts, f"{where}/{c['name']}: PLEDGE_DATA_DIR {data_dir} is not a volume"
            key_file = env["PLEDGE_PRIVATE_KEY_FILE"]["value"]
            key_volume = volumes[mounts[str(Path(key_file).parent)]]
            assert key_volume["secret"]["secretName"] == SECRET
            assert key_volume["secret"]["defaultMode"] == 0o440  # group-readable through fsGroup, no others
            assert {i["path"] for i in key_volume["secret"]["items"]} == {Path(key_file).name}


@pytest.mark.parametrize("target", TARGETS)
def test_secrets_come_only_from_the_pledge_secret(target: str) -> None:
    objs = build(target)
    assert of_kind(objs, "Secret") == [], "the Secret is created by hand (docs/deploy.md), never shipped"
    for c in containers(objs):
        for e in c["env"]:
            if "valueFrom" in e:
                ref = e["valueFrom"]["secretKeyRef"]
                assert ref["name"] == SECRET and ref["key"] in SECRET_KEYS, e
            else:
                assert not re.search(r"SECRET|TOKEN|PASSWORD|PRIVATE_KEY$|QUEUE", e["name"]), e
                assert "@" not in e["value"], e  # no credentials in URLs
        for source in c.get("envFrom", []):
            assert "secretRef" not in source, "secrets by key (secretKeyRef), so each is named here"
    for cm in of_kind(objs, "ConfigMap"):
        for name, value in cm["data"].items():
            assert not re.search(r"SECRET|TOKEN|PASSWORD|KEY|QUEUE", name), name
            assert "@" not in value


def settings_names() -> set[str]:
    """The PLEDGE_* names the settings module reads (found by import, so it follows the module if it moves)."""
    import bot.app.settings as settings

    return set(re.findall(r'"(PLEDGE_[A-Z_]+)"', inspect.getsource(settings)))


@pytest.mark.parametrize("target", TARGETS)
def test_every_pledge_variable_is_one_the_app_reads(target: str) -> None:
    known = settings_names()
    assert {"PLEDGE_WEBHOOK_SECRET", "PLEDGE_QUEUE", "PLEDGE_DATA_DIR"} <= known  # the scan itself works
    objs = build(target)
    used = {e["name"] for c in containers(objs) for e in c["env"]}
    used |= {k for cm in of_kind(objs, "ConfigMap") for k in cm["data"]}
    assert {n for n in used if n.startswith("PLEDGE_")} - known == set()
    assert used - known <= {"GUNICORN_CMD_ARGS"}, used - known


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.app.settings import Settings
    from bot.app.web import create_app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    data = tmp_path_factory.mktemp("data")
    app = create_app(Settings(webhook_secret="s", app_id="1", private_key=key, data_dir=data,
                              queue_url=f"sqlite://{data / 'queue.db'}"))
    return {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}


@pytest.mark.parametrize("target", TARGETS)
def test_probes_use_the_apps_own_routes_and_port(target: str, app_routes: set[str]) -> None:
    assert {"/healthz", "/readyz"} <= app_routes
    webs = [c for c in containers(build(target)) if c["args"] == ["web"]]
    assert webs
    for c in webs:
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"http": 8080}  # gunicorn_conf.py binds 0.0.0.0:8080
        probes = {kind: c[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")}
        assert probes["readinessProbe"]["path"] == "/readyz"
        assert probes["livenessProbe"]["path"] == "/healthz"
        for probe in probes.values():
            assert probe["path"] in app_routes and probe["port"] in ports


@pytest.mark.parametrize("target", TARGETS)
def test_references_resolve_and_selectors_select(target: str) -> None:
    objs = build(target)
    templates = [t["metadata"]["labels"] for _d, t in pod_specs(objs)]
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for d, t in pod_specs(objs):
        assert selects(d["spec"]["selector"]["matchLabels"], t["metadata"]["labels"])
        for v in t["spec"]["volumes"]:
            if "persistentVolumeClaim" in v:
                assert ("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]) in names
        for c in t["spec"]["containers"]:
            for source in c.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in names
    for svc in of_kind(objs, "Service"):
        assert any(selects(svc["spec"]["selector"], labels) for labels in templates), svc["metadata"]["name"]
    for obj in of_kind(objs, "PodDisruptionBudget"):
        assert any(selects(obj["spec"]["selector"]["matchLabels"], labels) for labels in templates)
    for obj in of_kind(objs, "NetworkPolicy"):
        assert any(selects(obj["spec"]["podSelector"]["matchLabels"], labels) for labels in templates)
    images = {c["image"] for c in containers(objs)}
    assert len(images) == 1 and images != {"pledge"}, images  # one image, the placeholder replaced
    assert {tuple(c["args"]) for c in containers(objs)} <= {("web",), ("worker",)}


def egress_ports(objs: tuple[dict[str, Any], ...], labels: dict[str, str]) -> set[int]:
    ports: set[int] = set()
    for np in of_kind(objs, "NetworkPolicy"):
        if selects(np["spec"]["podSelector"]["matchLabels"], labels):
            ports |= {p["port"] for rule in np["spec"].get("egress", []) for p in rule.get("ports", [])}
    return ports


def test_single_is_one_pod_with_web_and_worker_on_one_claim() -> None:
    objs = build("overlays/single")
    (deployment,) = of_kind(objs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert {c["name"]: c["args"] for c in pod["containers"]} == {"web": ["web"], "worker": ["worker"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    claims = set()
    for c in pod["containers"]:
        env = {e["name"]: e for e in c["env"]}
        assert "PLEDGE_QUEUE" not in env  # the default: sqlite under PLEDGE_DATA_DIR, on the claim
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == env["PLEDGE_DATA_DIR"]["value"])
        claims.add(volumes[mount["name"]]["persistentVolumeClaim"]["claimName"])
    assert len(claims) == 1
    (pvc,) = of_kind(objs, "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] in claims and pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert egress_ports(objs, spec["template"]["metadata"]["labels"]) >= {53, 443}  # the worker calls GitHub
    assert all(o["metadata"]["namespace"] == "pledge" for o in objs)


def test_scaled_runs_many_web_pods_on_redis_and_one_worker_on_a_claim() -> None:
    objs = build("overlays/scaled")
    deployments = {d["metadata"]["name"]: d for d in of_kind(objs, "Deployment")}
    web, worker = deployments["pledge-web"], deployments["pledge-worker"]
    assert web["spec"]["replicas"] >= 2
    assert worker["spec"]["replicas"] == 1 and worker["spec"]["strategy"] == {"type": "Recreate"}
    for d in (web, worker):
        for c in d["spec"]["template"]["spec"]["containers"]:
            queue = next(e for e in c["env"] if e["name"] == "PLEDGE_QUEUE")
            assert queue["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "queue-url"}
        assert 6379 in egress_ports(objs, d["spec"]["template"]["metadata"]["labels"])
    volumes = {v["name"]: v for v in worker["spec"]["template"]["spec"]["volumes"]}
    assert "persistentVolumeClaim" in volumes["data"]  # approvals and history outlive the pod
    assert "emptyDir" in {v["name"]: v for v in web["spec"]["template"]["spec"]["volumes"]}["data"]
    assert 443 in egress_ports(objs, worker["spec"]["template"]["metadata"]["labels"])
    assert 443 not in egress_ports(objs, web["spec"]["template"]["metadata"]["labels"])  # web never calls out
    (cm,) = of_kind(objs, "ConfigMap")
    assert cm["data"]["PLEDGE_WORKERS"] == "8"
