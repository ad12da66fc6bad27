"""docs/deploy.md says what the code and the manifests do: the App's events are the ones the router handles,
the Secret command creates the keys the manifests read, and the YAML it shows builds and validates."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tests.deploy.deploytest import K8S_VERSION, ROOT, SECRET_KEYS, build, containers, of_kind

DOC = ROOT / "docs" / "deploy.md"


def text() -> str:
    return DOC.read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text(), re.S)


def manifest() -> dict[str, Any]:
    (block,) = blocks("json")
    data: dict[str, Any] = json.loads(block)
    return data


def test_the_app_subscribes_to_exactly_the_events_the_router_handles() -> None:
    from bot.app.routes import INTERNAL_EVENTS, ROUTES

    handled = {r.event for r in ROUTES} - set(INTERNAL_EVENTS) - {"installation", "installation_repositories"}
    assert set(manifest()["default_events"]) == handled
    line = next(ln for ln in text().splitlines() if "**Subscribe to events**" in ln)
    listed = {name.lower().replace(" ", "_") for name in re.findall(r"\*\*([A-Z][a-z]+(?: [a-z]+)?)\*\*", line)}
    assert listed == handled, listed


def test_the_manifest_shown_is_the_commands_output() -> None:
    """`pledge app manifest` is the source of truth; the JSON in the docs is its output for the example."""
    from click.testing import CliRunner

    from bot.cli import main

    result = CliRunner().invoke(main, ["app", "manifest", "--url", "https://pledge.example.com",
                                       "--name", "acme-pledge", "--homepage", "https://github.com/acme/platform"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == manifest()


def test_the_permission_table_is_the_manifests() -> None:
    names = {"Checks": "checks", "Contents": "contents", "Pull requests": "pull_requests", "Issues": "issues",
             "Metadata": "metadata"}
    access = {"Read and write": "write", "Read-only": "read"}
    rows = re.findall(r"^  \| (\w[\w ]*?) \| (Read and write|Read-only) \|", text(), re.M)
    table = {names[n]: access[a] for n, a in rows}
    assert "**Members: Read-only**" in text()
    table["members"] = "read"
    assert table == manifest()["default_permissions"]


def test_the_secret_command_makes_the_keys_the_manifests_read() -> None:
    (command,) = [b for b in blocks("sh") if "create secret generic pledge" in b]
    keys = set(re.findall(r"--from-(?:literal|file)=([\w.-]+)=", command))
    assert keys == SECRET_KEYS
    read = {e["valueFrom"]["secretKeyRef"]["key"] for target in ("overlays/single", "overlays/scaled")
            for c in containers(build(target)) for e in c["env"] if "valueFrom" in e}
    mounted = {i["key"] for target in ("overlays/single", "overlays/scaled")
               for d in of_kind(build(target), "Deployment") for v in d["spec"]["template"]["spec"]["volumes"]
               if "secret" in v for i in v["secret"]["items"]}
    assert read | mounted == SECRET_KEYS
    table = set(re.findall(r"^\| `([\w.-]+)` \| ", text(), re.M))
    assert table == SECRET_KEYS


def test_your_own_overlay_builds_on_ours(tmp_path: Path) -> None:
    (block,) = [b for b in blocks("yaml") if "kustomization.yaml in your repository" in b]
    doc = yaml.safe_load(block)
    (remote,) = doc["resources"]
    assert re.fullmatch(r"https://github\.com/[\w-]+/pledge//deploy/overlays/single\?ref=v[\d.]+", remote)
    doc["resources"] = [os.path.relpath(ROOT / "deploy" / "overlays" / "single", tmp_path)]  # offline
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(doc))
    out = subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    objs = [o for o in yaml.safe_load_all(out.stdout) if o]
    for obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    images = {c["image"] for d in objs if d["kind"] == "Deployment"
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"ghcr.io/acme/pledge:0.1.0"}
    (cm,) = [o for o in objs if o["kind"] == "ConfigMap"]
    assert cm["data"]["PLEDGE_APP_SLUG"] == "acme-pledge" and cm["data"]["PLEDGE_WORKERS"] == "4"


def test_the_ingress_example_validates_and_targets_the_service() -> None:
    (block,) = [b for b in blocks("yaml") if "kind: Ingress" in b]
    ingress = yaml.safe_load(block)
    kubernetes_validate.validate(ingress, K8S_VERSION, strict=True)
    (service,) = of_kind(build("overlays/single"), "Service")
    backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert {b["name"] for b in backends} == {service["metadata"]["name"]}
    assert {b["port"]["name"] for b in backends} == {p["name"] for p in service["spec"]["ports"]}
    assert {p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]} == {"/webhook", "/flux/"}


def test_names_the_commands_use_exist() -> None:
    single = build("overlays/single")
    assert "deployment/pledge" in text()
    assert {d["metadata"]["name"] for d in of_kind(single, "Deployment")} == {"pledge"}
    assert {c["name"] for c in containers(single)} == {"web", "worker"}  # -c web / -c worker


def test_local_links_resolve() -> None:
    for target in re.findall(r"\]\((?!https?:)([^)#]+)(?:#[^)]*)?\)", text()):
        assert (DOC.parent / target).exists(), target
