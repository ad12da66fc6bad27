"""The bundled offerings' APIs: well-formed schemas a developer can read, and the renderers' YAML safety."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.core.catalog import Offering, load_catalog
from bot.core.platform import load_config
from bot.core.render import render_request
from bot.core.request import parse
from bot.core.schemas import request_schema
from bot.core.tree import MemoryTree
from tests.offerings.conftest import ENVS, OFFERINGS, PLEDGE, ROOT, rich_requests

LIFECYCLES = {"alpha", "beta", "stable", "deprecated", "retired"}


def bundled() -> dict[str, Offering]:
    """`<offering>/<version>` -> the bundled offering version."""
    catalog = load_catalog(None)
    assert catalog.findings == []
    return {f"{o.name}/{o.version}": o for o in catalog.offerings.values()}


VERSIONS = sorted(bundled())


def walk(schema: dict[str, Any], where: str = "spec") -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, schema) of every property below `schema`, items included."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, sub in (schema.get("properties") or {}).items():
        out.append((f"{where}.{name}", sub))
        out += walk(sub, f"{where}.{name}")
        if isinstance(sub.get("items"), dict):
            out += walk(sub["items"], f"{where}.{name}[]")
    return out


def test_the_six_offerings_are_bundled_postgres_in_two_versions() -> None:
    offerings = bundled()
    assert {o.name for o in offerings.values()} == set(OFFERINGS)
    kinds = {key: (o.api_version, o.kind, o.lifecycle) for key, o in offerings.items()}
    assert kinds == {
        "namespace/v1": ("pledge.dev/v1", "TeamSpace", "stable"),
        "postgres/v1": ("pledge.dev/v1", "Postgres", "deprecated"),
        "postgres/v2": ("pledge.dev/v2", "Postgres", "stable"),
        "bucket/v1": ("pledge.dev/v1", "Bucket", "stable"),
        "ci-runner/v1": ("pledge.dev/v1", "CIRunner", "stable"),
        "monitoring/v1": ("pledge.dev/v1", "Monitoring", "stable"),
        "dev-cluster/v1": ("pledge.dev/v1", "DevCluster", "beta"),
    }
    v1 = offerings["postgres/v1"].meta
    assert (v1["successor"], v1["sunset"]) == ("pledge.dev/v2", "2027-06-30")


@pytest.mark.parametrize("name", VERSIONS)
def test_schema_documents_every_field(name: str) -> None:
    offering = bundled()[name]
    meta = offering.meta
    assert meta.get("title") and meta.get("description") and meta.get("owners")
    assert meta.get("lifecycle") in LIFECYCLES
    schema = offering.schema
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("type") == "object" and schema.get("additionalProperties") is False
    for path, sub in walk(schema):
        assert sub.get("description"), f"{path}: add a description"
        if "properties" in sub:
            assert sub.get("additionalProperties") is False, f"{path}: additionalProperties: false"
        else:
            assert sub.get("examples"), f"{path}: add examples"
        for example in sub.get("examples", []):
            errors = list(jsonschema.Draft202012Validator(sub, format_checker=jsonschema.FormatChecker())
                          .iter_errors(example))
            assert not errors, f"{path}: example {example!r}: {errors[0].message}"
        if "default" in sub:
            assert jsonschema.Draft202012Validator(sub).is_valid(sub["default"]), f"{path}: default"
    for example in schema.get("examples", []):
        assert offering.validator.is_valid(example), f"{name}: top-level example"


@pytest.mark.parametrize("name", VERSIONS)
def test_docs_describe_every_field(name: str) -> None:
    docs = (ROOT / "docs" / "offerings.md").read_text()
    missing = [path[len("spec."):] for path, sub in walk(bundled()[name].schema)
               if "properties" not in sub and f"`{path[len('spec.'):]}`" not in docs]
    assert missing == [], "describe these fields in docs/offerings.md"


@pytest.mark.parametrize("name", VERSIONS)
def test_published_request_schema_accepts_the_rich_requests(name: str) -> None:
    """The editor schema (bot.core.schemas) of each offering is valid and agrees with the core on real requests."""
    offering = bundled()[name]
    schema = request_schema(offering)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    docs = [yaml.safe_load(raw) for raw in rich_requests("dev").values()]
    mine = [d for d in docs if (d["apiVersion"], d["kind"]) == (offering.api_version, offering.kind)]
    assert mine
    for doc in mine:
        assert list(validator.iter_errors(doc)) == [], doc["metadata"]["name"]


@pytest.mark.parametrize("name", VERSIONS)
def test_renders_list_matches_templates(name: str) -> None:
    """Every apiVersion/kind a template can emit is declared, and nothing is declared that no template emits."""
    offering = bundled()[name]
    emitted: set[str] = set()
    for path in sorted((ROOT / "renderers" / name).glob("*.yaml.j2")):
        text = path.read_text()
        for doc in re.split(r"^---$", text, flags=re.M):
            api = re.search(r"^apiVersion: (\S+)$", doc, re.M)
            kind = re.search(r"^kind: (\S+)$", doc, re.M)
            if api and kind:
                emitted.add(f"{api.group(1)}/{kind.group(1)}")
    assert emitted == offering.renders


@pytest.mark.parametrize("name", VERSIONS)
def test_templates_only_print_whole_values(name: str) -> None:
    """design.md's rule: `{{ }}` is a whole YAML value (or key); strings are built inside the expression."""
    paths = sorted((ROOT / "renderers" / name).glob("*.yaml.j2"))
    assert paths, name
    for path in paths:
        text = re.sub(r"\{#.*?#\}", lambda m: "\n" * m.group(0).count("\n"), path.read_text(), flags=re.S)
        for number, line in enumerate(text.splitlines(), 1):
            if re.match(r"\{%-? macro \w+\(\w+\) %\}\{\{ \w+ \}\}\{% endmacro %\}$", line):
                continue  # the json() serialiser: its output is only ever used inside another {{ }}
            for match in re.finditer(r"\{\{.*?\}\}", line):
                before, after = line[: match.start()], line[match.end():]
                ok_before = re.fullmatch(r"\s*(- )?(([\w./-]+|\{\{.*?\}\}): )?", before) is not None
                ok_after = after in ("", ":") or after.startswith(": {{")
                assert ok_before and ok_after, f"{path.name}:{number}: {line.strip()}"


def test_no_yaml_injection_through_request_values() -> None:
    """A newline, `---` and `kind:` in a value (PromQL may span lines) stay inside one string."""
    evil = 'up == 0\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pwn}\n'
    request = {
        "apiVersion": "pledge.dev/v1", "kind": "Monitoring",
        "metadata": {"name": "api", "team": "payments"},
        "spec": {
            "scrape": {"selector": {"app": "api"}},
            "alerts": [{"name": "Down", "expr": evil, "summary": "x: {y} [z] 'q' \"d\" #c &a *b !t |p >f %p @"}],
            "dashboard": {"title": "t\" , \"x\": 1", "panels": [{"title": "p", "expr": evil, "legend": "{{x}}"}]},
        },
    }
    raw = yaml.safe_dump(request).encode()
    for env in ENVS:
        path = f"requests/{env}/payments/api.yaml"
        tree = MemoryTree({"pledge.yaml": PLEDGE, path: raw})
        config = load_config(tree)
        req, findings = parse(path, raw, load_catalog(tree), config)
        assert req is not None and [f for f in findings if f.severity == "error"] == []
        rendered, findings = render_request(req, config)
        assert findings == []
        kinds = sorted(o["kind"] for o in rendered.objects)
        assert kinds == ["ConfigMap", "PrometheusRule", "ServiceMonitor"]
        rule = next(o for o in rendered.objects if o["kind"] == "PrometheusRule")
        assert rule["spec"]["groups"][0]["rules"][0]["expr"] == evil
        summary = rule["spec"]["groups"][0]["rules"][0]["annotations"]["summary"]
        assert summary == request["spec"]["alerts"][0]["summary"]


def test_test_platform_config_is_valid() -> None:
    config = load_config(MemoryTree({"pledge.yaml": PLEDGE}))
    assert config.env_names == list(ENVS)
    assert Path(ROOT / "tests" / "offerings" / "pledge.yaml").is_file()
