"""`pledge upgrade`: requests move to the successor version in place, the result validates and renders the same
objects, --check writes nothing, and a request that cannot move stays untouched with the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.core.tree import DirTree, MemoryTree
from bot.core.upgrade import migration_chain, plan_upgrade, target_version
from tests.offerings.test_rendered_objects import validate_object

EXAMPLE = Path(__file__).parents[2] / "examples" / "platform"
POSTGRES = ["requests/dev/payments/orders-db.yaml", "requests/prod/payments/orders-db.yaml",
            "requests/staging/payments/orders-db.yaml"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A copy of the example platform with its Postgres requests put back on v1 (as before the upgrade)."""
    root = tmp_path / "platform"
    shutil.copytree(EXAMPLE, root)
    for path in POSTGRES:
        (root / path).write_text(V1[path])
    (root / ".pledge" / "schemas" / "postgres.v2.json").unlink()  # not published before the upgrade
    return root


V1 = {
    POSTGRES[0]: """# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v1.json
apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: orders-db
  team: payments
spec:
  description: Orders and invoices of the payments API
  version: 17
  instances: 1
  storage:
    size: 20Gi
  database:
    name: orders
    owner: orders
""",
    POSTGRES[1]: """# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v1.json
apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: orders-db
  team: payments
  labels:
    cost-centre: cc-1234
spec:
  version: 17
  instances: 3
  storage:
    size: 100Gi
  backup:
    enabled: true
    retention: 30d
""",
    POSTGRES[2]: """# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v1.json
apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: orders-db
  team: payments
  labels:
    cost-centre: cc-1234
spec:
  version: 17
  instances: 2
  storage:
    size: 50Gi
  backup:
    enabled: true
""",
}


def rendered_objects(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "environments").rglob("*.yaml")
            if p.name != "kustomization.yaml"}


def test_upgrade_everything_then_validate_and_render_pass(platform: Path) -> None:
    assert run("render", "--repo", str(platform))[0] == 0
    before = rendered_objects(platform)
    code, out = run("upgrade", "--repo", str(platform), "--check")
    assert code == 1, out
    assert all(f"would upgrade {p}: pledge.dev/v1 -> pledge.dev/v2" in out for p in POSTGRES)
    assert "-    enabled: true\n+    method: objectStore\n" in out
    assert {p: (platform / p).read_text() for p in POSTGRES} == V1  # --check writes nothing
    code, out = run("upgrade", "--repo", str(platform), "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert [f["path"] for f in data["files"]] == POSTGRES and {f["engine"] for f in data["files"]} == {"text"}
    assert data["summary"] == {"upgraded": 3, "refused": 0, "current": 11}
    assert data["notes"] == [".pledge/schemas/postgres.v2.json not published yet: run `pledge schemas --out "
                             ".pledge/schemas` so editors find the new schema"]
    assert (platform / POSTGRES[0]).read_text().splitlines()[0].endswith("/.pledge/schemas/postgres.v2.json")
    assert run("upgrade", "--repo", str(platform), "--check")[0] == 0  # nothing left to do
    assert run("schemas", "--repo", str(platform), "--out", str(platform / ".pledge" / "schemas"))[0] == 0
    code, out = run("validate", "--repo", str(platform), "--format", "json")
    assert code == 0, out
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert "lifecycle.deprecated" not in rules and rules <= {"policy.postgres-wal-storage/prod-separate-wal"}
    assert run("render", "--repo", str(platform))[0] == 0
    assert run("render", "--check", "--repo", str(platform))[0] == 0
    after = rendered_objects(platform)
    assert after == before  # the same Cluster and ScheduledBackup: an upgrade restarts nothing
    for path, raw in after.items():
        assert validate_object(yaml.safe_load(raw)) == [], path


def test_filters_and_usage_errors(platform: Path) -> None:
    code, out = run("upgrade", "--repo", str(platform), "--env", "prod")
    assert code == 0 and "upgraded requests/prod/payments/orders-db.yaml" in out and "requests/dev/" not in out
    assert (platform / POSTGRES[0]).read_text() == V1[POSTGRES[0]]
    code, out = run("upgrade", "--repo", str(platform), "--team", "search", "--check")
    assert (code, out) == (0, "0 file(s) would upgrade, 0 refused, 3 already current\n")  # its TeamSpaces, Bucket
    for args, why in ((("--offering", "mysql"), "--offering mysql: no such offering"),
                      (("--env", "qa"), "--env qa: not in pledge.yaml"),
                      (("--team", "nobody"), "--team nobody: not in pledge.yaml")):
        code, out = run("upgrade", "--repo", str(platform), *args)
        assert code == 2 and why in out
    code, out = run("upgrade", "--repo", str(platform), "--offering", "bucket", "--check")
    assert (code, out.splitlines()[-1]) == (0, "0 file(s) would upgrade, 0 refused, 2 already current")


def test_a_request_that_cannot_move_stays_untouched_and_says_why(platform: Path) -> None:
    old = V1[POSTGRES[0]].replace("version: 17", "version: 14")
    (platform / POSTGRES[0]).write_text(old)
    no_backup = V1[POSTGRES[1]].replace("enabled: true", "enabled: false")
    (platform / POSTGRES[1]).write_text(no_backup)
    code, out = run("upgrade", "--repo", str(platform))
    assert code == 1
    assert (f"{POSTGRES[0]}:9:12  error  not upgraded from pledge.dev/v1 to pledge.dev/v2: v2 offers PostgreSQL 15 to "
            "18, not 14") in out
    assert (f"{POSTGRES[1]}:1:1  error  not upgraded from pledge.dev/v1 to pledge.dev/v2: the upgraded request would "
            "fail policy.postgres-production/point-in-time-recovery at line") in out
    assert (platform / POSTGRES[0]).read_text() == old and (platform / POSTGRES[1]).read_text() == no_backup
    assert "upgraded requests/staging/payments/orders-db.yaml" in out  # the others still move
    assert out.splitlines()[-1] == "1 file(s) upgraded, 2 refused, 11 already current"


def test_no_way_back_and_chains_through_several_versions(platform: Path) -> None:
    code, out = run("upgrade", "--repo", str(platform), "--to", "v1", "--offering", "postgres", "--check")
    assert (code, out.splitlines()[-1]) == (0, "0 file(s) would upgrade, 0 refused, 3 already current")
    tree = DirTree(platform)
    files = {p: tree.read(p) or b"" for p in ["pledge.yaml", *POSTGRES]}
    files[POSTGRES[2]] = files[POSTGRES[2]].replace(b"pledge.dev/v1", b"pledge.dev/v2").replace(
        b"enabled: true", b"method: objectStore")
    v2 = (Path(__file__).parents[2] / "schemas" / "postgres" / "v2.yaml").read_bytes()
    assert v2.count(b"\n  walStorage:\n") == 1
    files.update({  # a v3 that calls walStorage `wal`, and the migration that says so
        "schemas/postgres/v3.yaml": v2.replace(b"\n  walStorage:\n", b"\n  wal:\n"),
        "renderers/postgres/v3/cluster.yaml.j2": b"{# not rendered here #}\n",
        "schemas/postgres/migrations/v2-to-v3.yaml":
            b"from: v2\nto: v3\nsteps:\n  - rename: {path: spec.walStorage, to: wal}\n",
    })
    memory = MemoryTree(files)
    plan = plan_upgrade(memory, to="v3")
    assert [(u.path, u.source, u.target) for u in plan.files] == [
        (p, f"pledge.dev/{'v2' if p == POSTGRES[2] else 'v1'}", "pledge.dev/v3") for p in POSTGRES]
    assert yaml.safe_load(plan.files[0].after)["spec"]["backup"] == {"method": "none"}
    back = plan_upgrade(memory, to="v1")
    assert [(f.path, f.message) for f in back.refused] == [
        (POSTGRES[2], "not upgraded from pledge.dev/v2 to pledge.dev/v1: the catalog has no migration from v2 to v1 "
                      "(schemas/postgres/migrations/v2-to-v1.yaml)")]


def test_targets_follow_the_successor_chain() -> None:
    from bot.core.catalog import load_catalog

    catalog = load_catalog(None)
    v1 = catalog.find("pledge.dev/v1", "Postgres")
    assert v1 is not None and target_version(catalog, v1) == "v2"
    chain = migration_chain(catalog, "postgres", "v1", "v2")
    assert chain is not None and [(m.source, m.target) for m in chain] == [("v1", "v2")]
    assert migration_chain(catalog, "postgres", "v2", "v1") is None
