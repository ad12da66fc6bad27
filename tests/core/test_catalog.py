"""The catalog overlay: a platform repository extends the bundled catalog and replaces offerings whole."""

from __future__ import annotations

from bot.core.catalog import load_catalog
from bot.core.tree import MemoryTree

SCHEMA = """x-pledge:
  kind: Postgres
  renders: [v1/ConfigMap]
type: object
"""
TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata: {name: {{ name }}, namespace: {{ namespace }}}
"""


def test_bundled_catalog_loads_clean() -> None:
    catalog = load_catalog(None)
    assert catalog.findings == []
    assert catalog.kinds() == ["Bucket", "CIRunner", "DevCluster", "Monitoring", "Postgres", "TeamSpace"]
    assert all(o.templates and o.policies for o in catalog.offerings.values())


def test_repository_offering_version_replaces_the_bundled_one_whole() -> None:
    tree = MemoryTree({"schemas/postgres/v1.yaml": SCHEMA, "renderers/postgres/v1/only.yaml.j2": TEMPLATE})
    offering = load_catalog(tree).find("pledge.dev/v1", "Postgres")
    assert offering is not None
    assert offering.schema_path == "schemas/postgres/v1.yaml"
    assert list(offering.templates) == ["renderers/postgres/v1/only.yaml.j2"]  # no bundled template mixed in
    assert offering.renders == {"v1/ConfigMap"}


def test_repository_adds_a_version_and_keeps_the_bundled_ones() -> None:
    tree = MemoryTree({"schemas/postgres/v2.yaml": SCHEMA, "renderers/postgres/v2/cm.yaml.j2": TEMPLATE})
    catalog = load_catalog(tree)
    assert catalog.versions_of("Postgres") == ["pledge.dev/v1", "pledge.dev/v2"]
    assert catalog.find("pledge.dev/v1", "Postgres").schema_path.startswith("<bundled>/")  # type: ignore[union-attr]


def test_bundled_off_and_catalog_errors_name_their_file() -> None:
    tree = MemoryTree({"schemas/cache/v1.yaml": "type: object\n", "schemas/queue/v1.yaml": SCHEMA,
                       "policies/queue/bad.yaml": "apiVersion: json.kyverno.io/v1alpha1\nkind: Nope\n"})
    catalog = load_catalog(tree, bundled=False)
    assert catalog.offerings == {}
    assert sorted((f.path, f.rule) for f in catalog.findings) == [
        ("policies/queue/bad.yaml", "catalog.policy"),
        ("schemas/cache/v1.yaml", "catalog.schema"),
        ("schemas/queue/v1.yaml", "catalog.renderer"),
    ]


def test_digest_changes_with_any_catalog_file() -> None:
    a = load_catalog(MemoryTree({"policies/_requests/x.yaml": ""}), bundled=False).digest
    b = load_catalog(MemoryTree({"policies/_requests/x.yaml": "# changed\n"}), bundled=False).digest
    assert a != b
