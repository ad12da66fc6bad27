"""Offering lifecycles: deprecation warns, a sunset refuses new requests and warns louder on existing ones,
retirement refuses all; the metadata is checked at catalog load; the clock is injectable."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.catalog import load_catalog
from bot.core.lifecycle import Lifecycle, today
from bot.core.platform import load_config
from bot.core.tree import MemoryTree
from bot.core.validate import load_requests, validate_tree
from tests.core.conftest import MINIREPO

PLEDGE = (MINIREPO / "pledge.yaml").read_bytes()
TEMPLATE = (MINIREPO / "renderers" / "cache" / "v1" / "configmap.yaml.j2").read_bytes()
PATH = "requests/dev/payments/sessions.yaml"


def schema(lifecycle: str = "stable", extra: str = "") -> bytes:
    return (f"x-pledge:\n  kind: Cache\n  owners: [acme/platform]\n  lifecycle: {lifecycle}\n{extra}"
            "  renders: [v1/ConfigMap]\ntype: object\n").encode()


def tree(v1: bytes) -> MemoryTree:
    return MemoryTree(repo_files(v1))


def repo_files(v1: bytes) -> dict[str, bytes]:
    return {
        "pledge.yaml": PLEDGE,
        "schemas/cache/v1.yaml": v1, "renderers/cache/v1/cm.yaml.j2": TEMPLATE,
        "schemas/cache/v2.yaml": schema(), "renderers/cache/v2/cm.yaml.j2": TEMPLATE,
        PATH: (b"# a comment\napiVersion: pledge.dev/v1\nkind: Cache\n"
               b"metadata: {name: sessions, team: payments}\nspec: {size: 2}\n"),
    }


DEPRECATED = schema("deprecated", '  successor: pledge.dev/v2\n  sunset: "2027-06-30"\n')


def findings(t: MemoryTree, *, on: date, new: bool = False) -> list[tuple[int, str, str, str]]:
    config = load_config(t)
    catalog = load_catalog(t, bundled=False)
    assert catalog.findings == []
    _, found = load_requests(t, catalog, config, [(PATH, False)], new={PATH} if new else set(), today=on)
    return [(f.line, f.severity, f.rule, f.message) for f in found]


def test_deprecated_warns_at_the_api_version_with_successor_and_sunset() -> None:
    [(line, severity, rule, message)] = findings(tree(DEPRECATED), on=date(2027, 6, 30), new=True)
    assert (line, severity, rule) == (2, "warning", "lifecycle.deprecated")
    assert message == ("Cache pledge.dev/v1 is deprecated: move to pledge.dev/v2 (`pledge upgrade --offering cache "
                       "--to v2` rewrites the file); new requests are refused after its sunset on 2027-06-30")


def test_after_the_sunset_new_requests_fail_and_existing_ones_warn_louder() -> None:
    [new] = findings(tree(DEPRECATED), on=date(2027, 7, 1), new=True)
    assert new[:3] == (2, "error", "lifecycle.sunset")
    assert "passed its sunset on 2027-06-30 and takes no new requests: move to pledge.dev/v2" in new[3]
    [existing] = findings(tree(DEPRECATED), on=date(2027, 7, 11), new=False)
    assert existing[:3] == (2, "warning", "lifecycle.sunset")
    assert existing[3].startswith("SUNSET PASSED: Cache pledge.dev/v1 passed its sunset on 2027-06-30 (11 day(s) ago)")


def test_retired_fails_new_and_existing_and_a_version_without_successor_names_its_owners() -> None:
    retired = schema("retired", "  successor: pledge.dev/v2\n")
    for new in (True, False):
        [(_, severity, rule, message)] = findings(tree(retired), on=date(2026, 1, 1), new=new)
        assert (severity, rule) == ("error", "lifecycle.retired")
        assert "is retired and takes no requests: move to pledge.dev/v2" in message
    [(_, _, _, message)] = findings(tree(schema("deprecated")), on=date(2026, 1, 1))
    assert message == "Cache pledge.dev/v1 is deprecated: it has no successor yet: ask acme/platform what replaces it"


def test_stable_alpha_and_beta_say_nothing() -> None:
    for state in ("alpha", "beta", "stable"):
        assert findings(tree(schema(state)), on=date(2030, 1, 1), new=True) == []


def test_validate_has_no_base_branch_so_every_request_counts_as_existing() -> None:
    report = validate_tree(tree(DEPRECATED), today=date(2028, 1, 1))
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "lifecycle.sunset")]


def test_the_clock_comes_from_pledge_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEDGE_TODAY", "2027-07-01")
    assert today() == date(2027, 7, 1)
    assert [f.rule for f in validate_tree(tree(DEPRECATED)).findings] == ["lifecycle.sunset"]
    monkeypatch.setenv("PLEDGE_TODAY", "")
    assert today() == date.today()
    for bad in ("2027-13-01", "01.07.2027", "20270701"):
        with pytest.raises(ValueError, match="PLEDGE_TODAY"):
            today({"PLEDGE_TODAY": bad})


def test_cli_refuses_a_bad_clock_and_judges_on_a_good_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path, data in repo_files(DEPRECATED).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    monkeypatch.setenv("PLEDGE_TODAY", "tomorrow")
    result = CliRunner().invoke(main, ["validate", "--repo", str(tmp_path)])
    assert result.exit_code == 2 and "PLEDGE_TODAY='tomorrow' is not an ISO date" in result.output
    monkeypatch.setenv("PLEDGE_TODAY", "2027-07-01")
    result = CliRunner().invoke(main, ["validate", "--repo", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == ["lifecycle.sunset"]


def test_status_and_catalog_checks() -> None:
    life = Lifecycle.of({"lifecycle": "deprecated", "sunset": "2027-06-30"})
    assert (life.status(date(2027, 6, 30)), life.status(date(2027, 7, 1))) == ("deprecated", "sunset")
    bad = tree(schema("stable", '  successor: pledge.dev/v9\n  sunset: "2027-06-30"\n'))
    found = sorted((f.path, f.line, f.rule, f.message) for f in load_catalog(bad, bundled=False).findings)
    assert found == [
        ("schemas/cache/v1.yaml", 5, "catalog.lifecycle",
         "x-pledge.successor pledge.dev/v9 is not a version of Cache in the catalog (known: pledge.dev/v2)"),
        ("schemas/cache/v1.yaml", 6, "catalog.lifecycle",
         "x-pledge.sunset is set but lifecycle is stable: only a deprecated version has a sunset "
         "(set `lifecycle: deprecated`, or remove the sunset)"),
    ]
    for sunset, why in (('"2027-02-30"', "is not a 'date'"), ("27-06-30", "is not a 'date'"),
                        ("2027-06-30T00:00:00Z", "is not a 'date'")):
        catalog = load_catalog(tree(schema("deprecated", f"  sunset: {sunset}\n")), bundled=False)
        assert [(f.line, f.rule) for f in catalog.findings] == [(5, "catalog.schema")], sunset
        assert why in catalog.findings[0].message
    catalog = load_catalog(tree(schema("deprecated", "  successor: v2\n")), bundled=False)
    assert [(f.line, f.rule) for f in catalog.findings] == [(5, "catalog.schema")]
