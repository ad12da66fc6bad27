"""Declarative migrations: the file format is checked at catalog load, each verb does what it says on plain data,
and bot.core.migrate rewrites bytes keeping comments, key order and quoting, or refuses and says why."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from bot.core.catalog import load_catalog
from bot.core.migrate import Refused, Upgraded, migrate
from bot.core.migrations import Migration, Refusal, apply, load_migration, same
from bot.core.report import Finding
from bot.core.tree import MemoryTree
from tests.offerings.conftest import ENVS, rich_requests

ROOT = Path(__file__).resolve().parents[2]
V1_TO_V2 = load_catalog(None).migrations[("postgres", "v1", "v2")]


def migration(steps: str, name: str = "v1-to-v2.yaml") -> Migration:
    findings: list[Finding] = []
    found = load_migration("x", name, f"from: v1\nto: v2\nsteps:\n{steps}".encode(), "m.yaml", findings)
    assert found is not None and findings == [], findings
    return found


def problems(text: str, name: str = "v1-to-v2.yaml") -> list[tuple[int, str]]:
    findings: list[Finding] = []
    assert load_migration("x", name, text.encode(), "m.yaml", findings) is None
    assert {f.rule for f in findings} == {"catalog.migration"}
    return [(f.line, f.message) for f in findings]


# ------------------------------------------------------------------------------------------------ the format

def test_migration_files_are_checked_at_load_with_file_and_line() -> None:
    head = "from: v1\nto: v2\nsteps:\n"
    assert problems(head + "  - copy: {path: spec.a, to: spec.b}\n") == [
        (4, "steps[0]: unknown step 'copy'; a step is one of rename, move, default, map, drop")]
    assert problems(head + "  - move: {path: spec.a}\n") == [(4, "steps[0].move: 'to' is a required property")]
    assert problems(head + "  - drop: {path: metadata.name, note: x}\n")[0][0] == 4
    assert problems(head + "  - drop: {path: spec.a, note: x}\n    move: {path: spec.a, to: spec.b}\n") == [
        (4, "steps[0]: a step is a mapping with exactly one of rename, move, default, map, drop")]
    assert problems(head + "  - move: {path: spec.a, to: spec.a.b}\n") == [
        (4, "steps[0].move: cannot move a key below itself")]
    assert problems(head + "  - map: {path: spec.a}\n") == [(4, "steps[0].map: map needs values (or keep)")]
    assert problems(head + "  - drop: {path: spec.a, note: x, when: {path: spec.b}}\n")[0][0] == 4
    assert problems(head + "  - drop: {path: spec.a, note: x}\n", "v1-to-v3.yaml") == [
        (1, "from: v1, to: v2 do not match the file name v1-to-v3.yaml")]
    assert problems(head + "  - drop: {path: spec.a, note: x}\n", "upgrade.yaml")[0][1].startswith(
        "a migration file is named <from>-to-<to>.yaml")
    [(line, message)] = problems("from: v1\nto: v2\nsteps: [\n")
    assert line == 4 and "invalid YAML" in message, message


def test_catalog_loads_migrations_and_refuses_one_to_a_missing_version() -> None:
    tree = MemoryTree({"schemas/postgres/migrations/v2-to-v9.yaml":
                       b"from: v2\nto: v9\nsteps:\n  - drop: {path: spec.a, note: gone}\n",
                       "schemas/postgres/migrations/bad.yaml": b"from: v1\n"})
    catalog = load_catalog(tree)
    assert sorted((f.path, f.line, f.rule) for f in catalog.findings) == [
        ("schemas/postgres/migrations/bad.yaml", 1, "catalog.migration"),
        ("schemas/postgres/migrations/v2-to-v9.yaml", 1, "catalog.migration"),
    ]
    assert set(catalog.migrations) == {("postgres", "v1", "v2"), ("postgres", "v2", "v9")}
    assert "which the catalog does not have" in next(f.message for f in catalog.findings if "v9" in f.path)


# ------------------------------------------------------------------------------------------------ the verbs

def run(steps: str, spec: dict) -> tuple[dict, list[str]]:
    doc = {"apiVersion": "pledge.dev/v1", "spec": copy.deepcopy(spec)}
    stage = apply(migration(steps), doc)
    return doc["spec"], stage.notes


def test_rename_keeps_the_position_and_refuses_a_collision() -> None:
    assert list(run("  - rename: {path: spec.a.b, to: c}\n", {"a": {"x": 1, "b": 2, "y": 3}})[0]["a"].items()) == [
        ("x", 1), ("c", 2), ("y", 3)]
    with pytest.raises(Refusal, match=re.escape("spec.a.b would become spec.a.c, which is set already")):
        run("  - rename: {path: spec.a.b, to: c}\n", {"a": {"b": 1, "c": 2}})


def test_move_creates_parents_removes_emptied_ones_and_refuses_to_overwrite() -> None:
    spec, _ = run("  - move: {path: spec.db.name, to: spec.boot.database}\n", {"db": {"name": "o"}, "z": 1})
    assert spec == {"z": 1, "boot": {"database": "o"}}
    spec, _ = run("  - move: {path: spec.db.name, to: spec.db.title}\n", {"db": {"name": "o", "q": 1}})
    assert list(spec["db"]) == ["title", "q"]  # within one mapping: renamed in place
    with pytest.raises(Refusal, match=re.escape("spec.a moves to spec.b, which is set already")):
        run("  - move: {path: spec.a, to: spec.b}\n", {"a": 1, "b": 2})
    with pytest.raises(Refusal, match=re.escape("spec.b is not a mapping")):
        run("  - move: {path: spec.a, to: spec.b.c}\n", {"a": 1, "b": 2})
    assert run("  - move: {path: spec.a, to: spec.b}\n", {"c": 1})[0] == {"c": 1}  # nothing to move


def test_default_map_drop_and_conditions() -> None:
    steps = """  - map:
      path: spec.on
      to: spec.method
      values: [{from: true, to: store}, {from: false, to: none}]
  - default: {path: spec.method, value: none, note: said out loud}
  - drop: {path: spec.schedule, when: {path: spec.method, equals: none}, note: had no effect}
  - drop: {path: spec.extra, when: {path: spec.keep, exists: false}, note: extra dropped}
"""
    assert run(steps, {"on": True, "schedule": "x", "keep": 1, "extra": 2}) == (
        {"method": "store", "schedule": "x", "keep": 1, "extra": 2}, [])
    assert run(steps, {"schedule": "x", "extra": 2}) == ({"method": "none"}, [
        "said out loud", "had no effect", "extra dropped"])
    with pytest.raises(Refusal, match=re.escape("spec.on is 1, which v2 has no equivalent for; change it on v1 first")):
        run(steps, {"on": 1})  # 1 is not true: YAML tells them apart, and so does a migration
    keep = "  - map: {path: spec.v, keep: [15, 16], otherwise: 'PostgreSQL {value} is gone ({path})'}\n"
    assert run(keep, {"v": 16})[0] == {"v": 16}
    with pytest.raises(Refusal, match=r"^PostgreSQL 14 is gone \(spec.v\)$"):
        run(keep, {"v": 14})


def test_same_tells_yaml_types_and_key_order_apart() -> None:
    assert same({"a": [1, "x"], "b": None}, {"a": [1, "x"], "b": None})
    assert not same(True, 1) and not same(1, 1.0) and not same({"a": 1, "b": 2}, {"b": 2, "a": 1})


# ------------------------------------------------------------------------------------------------ bytes

SOURCE = """\
# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v1.json
# The orders database of the payments API.
apiVersion: pledge.dev/v1   # the version
kind: Postgres
metadata:
  name: orders-db
  team: payments
  labels: {cost-centre: cc-1234}
spec:
  description: 'Orders and invoices'   # shown on the Cluster
  version: 17
  storage:
    size: 100Gi
  database:
    name: orders    # the app db
    owner: "orders"
  parameters:
    max_connections: "200"
  backup:
    enabled: true   # continuous backup
    retention: 30d
# end of file
"""

EXPECTED = """\
# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v2.json
# The orders database of the payments API.
apiVersion: pledge.dev/v2   # the version
kind: Postgres
metadata:
  name: orders-db
  team: payments
  labels: {cost-centre: cc-1234}
spec:
  description: 'Orders and invoices'   # shown on the Cluster
  version: 17
  storage:
    size: 100Gi
  parameters:
    max_connections: "200"
  backup:
    method: objectStore   # continuous backup
    retention: 30d
  bootstrap:
    database: orders    # the app db
    owner: "orders"
# end of file
"""


def upgrade(text: str, engine: str = "auto") -> Upgraded:
    result = migrate(text.encode(), [V1_TO_V2], group="pledge.dev", engine=engine)
    assert isinstance(result, Upgraded), result
    return result


def test_comments_key_order_and_quoting_survive_byte_for_byte() -> None:
    result = upgrade(SOURCE)
    assert result.engine == "text" and result.notes == ()
    assert result.data.decode() == EXPECTED


def test_ruamel_round_trip_gives_the_same_request_and_keeps_comments_and_quotes() -> None:
    result = upgrade(SOURCE, engine="ruamel")
    assert result.engine == "ruamel"
    text = result.data.decode()
    assert yaml.safe_load(text) == yaml.safe_load(EXPECTED)
    for kept in ("# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v2.json",
                 "# The orders database of the payments API.", "apiVersion: pledge.dev/v2   # the version",
                 "description: 'Orders and invoices'   # shown on the Cluster", 'max_connections: "200"',
                 'owner: "orders"', "# the app db", "# continuous backup", "# end of file",
                 "labels: {cost-centre: cc-1234}"):
        assert kept in text, kept


def test_a_flow_style_change_falls_back_to_ruamel() -> None:
    source = SOURCE.replace("  backup:\n    enabled: true   # continuous backup\n    retention: 30d\n",
                            "  backup: {enabled: true, retention: 30d}\n")
    result = upgrade(source)
    assert result.engine == "ruamel"
    assert yaml.safe_load(result.data)["spec"]["backup"] == {"method": "objectStore", "retention": "30d"}
    assert "backup: {method: objectStore, retention: 30d}" in result.data.decode()
    crlf = upgrade(SOURCE.replace("\n", "\r\n"))
    assert crlf.engine == "ruamel" and same(yaml.safe_load(crlf.data), yaml.safe_load(EXPECTED))
    moved = upgrade(SOURCE.replace("    name: orders    # the app db\n", "    name: |\n      orders\n"))
    assert moved.engine == "text" and "  bootstrap:\n    database: |\n      orders\n" in moved.data.decode()
    block = "apiVersion: pledge.dev/v1\nkind: X\nspec:\n  text: |\n    old\n  n: 1\n"
    result = migrate(block.encode(), [migration("  - map: {path: spec.text, values: [{from: \"old\\n\", to: "
                                                "\"new\\n\"}]}\n")], group="pledge.dev")
    assert isinstance(result, Upgraded) and result.engine == "ruamel"
    assert result.data.decode() == "apiVersion: pledge.dev/v2\nkind: X\nspec:\n  text: |\n    new\n  n: 1\n"


def test_a_value_without_mapping_refuses_at_its_line_and_notes_say_what_was_dropped() -> None:
    result = migrate(SOURCE.replace("version: 17", "version: 14").encode(), [V1_TO_V2], group="pledge.dev")
    assert isinstance(result, Refused)
    assert (result.line, result.column) == (11, 12)
    assert result.reason.startswith("v2 offers PostgreSQL 15 to 18, not 14 (14 reached end of life on 2026-11-12)")
    off = upgrade("apiVersion: pledge.dev/v1\nkind: Postgres\nmetadata: {name: a, team: t}\nspec:\n"
                  "  database: {}\n  backup:\n    schedule: '@daily'\n")
    assert off.data.decode() == ("apiVersion: pledge.dev/v2\nkind: Postgres\nmetadata: {name: a, team: t}\nspec:\n"
                                 "  backup:\n    method: none\n")
    assert off.notes == (
        "backups were off, so spec.backup.schedule had no effect; v2 takes no schedule without a method",
        "spec.database was empty (the defaults); v2 calls it spec.bootstrap")


def test_modeline_pointing_elsewhere_is_left_alone_with_a_note() -> None:
    result = upgrade(SOURCE.replace("../../../.pledge/schemas/postgres.v1.json", "https://x.example/pg.json"))
    assert result.data.decode().splitlines()[0] == "# yaml-language-server: $schema=https://x.example/pg.json"
    assert result.notes == ("the yaml-language-server line points to https://x.example/pg.json, not to a "
                            "published postgres.v1.json: update it by hand",)


def v1_requests() -> dict[str, bytes]:
    """Every v1 Postgres request we have: the example platform's, the rich ones, and the golden cases'."""
    out = {str(p.relative_to(ROOT)): p.read_bytes() for p in (ROOT / "examples").rglob("requests/**/*.yaml")}
    out.update({f"rich:{p}": raw for env in ENVS for p, raw in rich_requests(env).items()})
    out.update({str(p.relative_to(ROOT)): p.read_bytes() for p in (ROOT / "tests" / "cases").glob("*/request.yaml")})
    out["source"] = SOURCE.encode()
    return {k: v for k, v in out.items() if b"apiVersion: pledge.dev/v1" in v and b"kind: Postgres" in v}


@pytest.mark.parametrize("name", sorted(v1_requests()))
def test_both_engines_agree_on_every_v1_request(name: str) -> None:
    raw = v1_requests()[name]
    text = migrate(raw, [V1_TO_V2], group="pledge.dev", engine="auto")
    ruamel = migrate(raw, [V1_TO_V2], group="pledge.dev", engine="ruamel")
    if isinstance(ruamel, Refused):  # PostgreSQL 13 or 14: both refuse, for the same reason
        assert text == ruamel and "v2 offers PostgreSQL 15 to 18" in ruamel.reason
        return
    assert isinstance(text, Upgraded) and isinstance(ruamel, Upgraded), (text, ruamel)
    assert same(yaml.safe_load(text.data), yaml.safe_load(ruamel.data))
    assert text.notes == ruamel.notes
    before = raw.decode().splitlines()
    after = text.data.decode().splitlines()
    assert [c for c in before if c.lstrip().startswith("#")] == [
        c.replace("postgres.v2.json", "postgres.v1.json") for c in after if c.lstrip().startswith("#")]


def every_request_file() -> dict[str, bytes]:
    out = {str(p.relative_to(ROOT)): p.read_bytes() for p in (ROOT / "examples").rglob("requests/**/*.yaml")}
    out.update({str(p.relative_to(ROOT)): p.read_bytes() for p in (ROOT / "tests" / "cases").glob("*/request.yaml")})
    out.update({f"rich:{p}": raw for env in ENVS for p, raw in rich_requests(env).items()})
    return out


def test_the_text_editor_reproduces_every_request_byte_for_byte_when_nothing_changes() -> None:
    from bot.core import yamledit
    from bot.core.yamlfile import load

    unsupported = []
    for name, raw in sorted(every_request_file().items()):
        data = load(raw).data
        try:
            assert yamledit.rewrite(raw.decode(), data, data, lambda p: p) == raw.decode(), name
        except yamledit.Unsupported:
            unsupported.append(name)
    assert unsupported == [], "the text editor should handle every request we ship"
