"""Postgres v2 in detail: what each new field renders, and that a migrated v1 request renders v1's objects."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.catalog import load_catalog
from bot.core.migrate import Upgraded, migrate
from bot.core.platform import load_config
from bot.core.render import render_request
from bot.core.request import parse
from bot.core.tree import MemoryTree
from tests.offerings.conftest import ENVS, PLEDGE, RICH, VERSIONS, rich_requests
from tests.offerings.test_rendered_objects import rendered, validate_object


def objects(env: str, name: str) -> dict[str, dict[str, Any]]:
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in rendered(env)[f"requests/{env}/payments/{name}.yaml"]}


def test_object_store_backups_wal_volume_pooler_and_databases() -> None:
    objs = objects("prod", "warehouse")
    assert set(objs) == {"Cluster/warehouse", "ScheduledBackup/warehouse-scheduled", "Pooler/warehouse-pooler",
                         "Database/warehouse-reporting", "Database/warehouse-audit-log"}
    cluster = objs["Cluster/warehouse"]["spec"]
    assert cluster["storage"] == {"size": "40Gi", "storageClass": "fast-ssd"}
    assert cluster["walStorage"] == {"size": "10Gi", "storageClass": "io2"}
    assert cluster["bootstrap"]["initdb"] == {"database": "warehouse", "owner": "analyst", "dataChecksums": True}
    assert cluster["backup"]["retentionPolicy"] == "8w" and "volumeSnapshot" not in cluster["backup"]
    assert cluster["backup"]["barmanObjectStore"]["data"] == {"compression": "gzip", "jobs": 2}
    schedule = objs["ScheduledBackup/warehouse-scheduled"]["spec"]
    assert (schedule["method"], schedule["schedule"]) == ("barmanObjectStore", "0 15 3 * * *")
    pooler = objs["Pooler/warehouse-pooler"]["spec"]
    assert (pooler["cluster"], pooler["instances"], pooler["type"]) == ({"name": "warehouse"}, 3, "rw")
    assert pooler["pgbouncer"] == {"poolMode": "session",
                                   "parameters": {"max_client_conn": "2000", "default_pool_size": "25"}}
    [container] = pooler["template"]["spec"]["containers"]
    assert container["image"] == "registry.acme.example/cloudnative-pg/pgbouncer:1.25.1"  # the prod value
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"},
                                      "limits": {"cpu": "250m", "memory": "256Mi"}}
    reporting = objs["Database/warehouse-reporting"]["spec"]
    assert reporting == {
        "cluster": {"name": "warehouse"}, "name": "reporting", "owner": "analyst", "ensure": "present",
        "databaseReclaimPolicy": "delete",
        "extensions": [{"name": "pg_stat_statements", "ensure": "present"}, {"name": "pgcrypto", "ensure": "present"}],
        "schemas": [{"name": "marts", "owner": "analyst", "ensure": "present"},
                    {"name": "staging_area", "owner": "analyst", "ensure": "present"}]}
    audit = objs["Database/warehouse-audit-log"]["spec"]
    assert (audit["name"], audit["databaseReclaimPolicy"], "extensions" in audit) == ("audit_log", "retain", False)
    dev = objects("dev", "warehouse")["Pooler/warehouse-pooler"]["spec"]["template"]["spec"]["containers"][0]
    assert dev["image"] == "ghcr.io/cloudnative-pg/pgbouncer:1.25.1"


def test_volume_snapshots_with_and_without_a_wal_archive() -> None:
    events = objects("prod", "events")
    backup = events["Cluster/events"]["spec"]["backup"]
    assert backup["volumeSnapshot"] == {"className": "csi-snapclass", "online": False, "snapshotOwnerReference": "none"}
    assert "retentionPolicy" not in backup and "data" not in backup["barmanObjectStore"]
    assert backup["barmanObjectStore"]["wal"] == {"compression": "gzip", "maxParallel": 2}
    assert events["Cluster/events"]["spec"]["walStorage"] == {"size": "5Gi", "storageClass": "gp3"}
    schedule = events["ScheduledBackup/events-scheduled"]["spec"]
    assert (schedule["method"], schedule["online"], schedule["schedule"]) == ("volumeSnapshot", False, "@daily")
    assert events["Pooler/events-pooler"]["spec"]["instances"] == 2
    snap_prod = objects("prod", "snap-db")["Cluster/snap-db"]["spec"]
    assert snap_prod["backup"] == {"target": "prefer-standby", "volumeSnapshot": {
        "className": "csi-aws-vsc", "snapshotOwnerReference": "none"}}  # the environment's class, no archive
    assert "serviceAccountTemplate" not in snap_prod  # no object store, no IAM role
    snap_dev = objects("dev", "snap-db")["Cluster/snap-db"]["spec"]["backup"]["volumeSnapshot"]
    assert snap_dev == {"snapshotOwnerReference": "none"}  # the cluster's default VolumeSnapshotClass
    assert "online" not in objects("dev", "snap-db")["ScheduledBackup/snap-db-scheduled"]["spec"]
    assert set(objects("dev", "scratch-pg")) == {"Cluster/scratch-pg"}
    assert "backup" not in objects("dev", "scratch-pg")["Cluster/scratch-pg"]["spec"]


def _render(path: str, raw: bytes) -> list[dict[str, Any]]:
    tree = MemoryTree({"pledge.yaml": PLEDGE, path: raw})
    config, catalog = load_config(tree), load_catalog(tree)
    req, findings = parse(path, raw, catalog, config)
    assert req is not None and [f for f in findings if f.severity == "error"] == [], findings
    result, problems = render_request(req, config)
    assert problems == []
    return result.objects


V1_RICH = [name for name in RICH["postgres"] if VERSIONS.get(name, "v1") == "v1"]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", V1_RICH)
def test_a_migrated_v1_request_renders_the_objects_it_rendered_on_v1(env: str, name: str) -> None:
    path = f"requests/{env}/payments/{name}.yaml"
    raw = rich_requests(env)[path]
    migration = load_catalog(None).migrations[("postgres", "v1", "v2")]
    result = migrate(raw, [migration], group="pledge.dev")
    assert isinstance(result, Upgraded), result
    assert b"apiVersion: pledge.dev/v2" in result.data
    before, after = _render(path, raw), _render(path, result.data)
    assert after == before
    assert all(validate_object(o) == [] for o in after)
