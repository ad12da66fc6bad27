"""`pledge inventory`: every request with its offering version and lifecycle, ages from one pass over git history."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.adapters.git.history import request_history
from bot.cli import main
from bot.core.inventory import FileHistory, inventory
from bot.core.tree import DirTree
from tests.core.test_upgrade import POSTGRES, V1

EXAMPLE = Path(__file__).parents[2] / "examples" / "platform"


def copy_platform(root: Path) -> None:
    """The example platform with its Postgres requests on v1 (the deprecated version)."""
    shutil.copytree(EXAMPLE, root)
    for path in POSTGRES:
        (root / path).write_text(V1[path])


def commit(root: Path, when: str, message: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture
def history_repo(tmp_path: Path) -> Path:
    """A git repository whose platform lives in a subfolder, with two commits on known dates."""
    top = tmp_path / "monorepo"
    root = top / "platform"
    copy_platform(root)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=top, check=True)
    (top / "README.md").write_text("not the platform\n")
    commit(top, "2026-01-10T12:00:00Z", "platform")
    path = root / "requests/dev/payments/orders-db.yaml"
    path.write_text(path.read_text().replace("size: 20Gi", "size: 30Gi"))
    (root / "requests/dev/payments/extra-db.yaml").write_text(
        path.read_text().replace("name: orders-db", "name: extra-db"))
    commit(top, "2026-11-01T08:00:00Z", "bigger, and one more")
    (root / "requests/dev/search/new.yaml").write_text("apiVersion: pledge.dev/v1\nkind: TeamSpace\n"
                                                       "metadata: {name: new, team: search}\nspec: {}\n")
    return root


def test_one_git_log_pass_gives_creation_and_last_change(history_repo: Path) -> None:
    found = request_history(history_repo)
    assert found is not None
    jan, nov = datetime(2026, 1, 10, 12, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert found["requests/dev/payments/orders-db.yaml"] == FileHistory(created=jan, changed=nov)
    assert found["requests/dev/payments/extra-db.yaml"] == FileHistory(created=nov, changed=nov)
    assert found["requests/prod/payments/orders-db.yaml"] == FileHistory(created=jan, changed=jan)
    assert "requests/dev/search/new.yaml" not in found  # not committed yet
    assert all(p.startswith("requests/") for p in found)  # README.md and the rendered files are not read
    assert request_history(history_repo.parent.parent) is None  # tmp_path: not a git work tree


def test_rows_lifecycle_and_counts(history_repo: Path) -> None:
    inv = inventory(DirTree(history_repo), history=request_history(history_repo), today=date(2026, 12, 1))
    rows = {r.path: r for r in inv.rows}
    orders = rows["requests/dev/payments/orders-db.yaml"]
    assert (orders.offering, orders.api_version, orders.lifecycle, orders.successor, orders.sunset) == (
        "postgres", "pledge.dev/v1", "deprecated", "pledge.dev/v2", date(2027, 6, 30))
    assert (orders.age_days(inv.today), orders.changed and orders.changed.date()) == (325, date(2026, 11, 1))
    assert rows["requests/prod/payments/orders-db.yaml"].labels == {"cost-centre": "cc-1234"}
    new = rows["requests/dev/search/new.yaml"]
    assert (new.created, new.changed, new.lifecycle) == (None, None, "stable")
    counts = {(c.offering, c.api_version): c.requests for c in inv.counts}
    assert counts[("postgres", "pledge.dev/v1")] == 4 and counts[("postgres", "pledge.dev/v2")] == 0
    assert sum(counts.values()) == len(inv.rows) == 16
    later = inventory(DirTree(history_repo), today=date(2027, 7, 1))
    assert {r.lifecycle for r in later.rows if r.kind == "Postgres"} == {"sunset"} and not later.history


def test_broken_and_unknown_requests_are_listed_too(tmp_path: Path) -> None:
    root = tmp_path / "p"
    copy_platform(root)
    (root / "requests/dev/payments/broken.yaml").write_text("a: [\n")
    (root / "requests/dev/payments/future.yaml").write_text(
        "apiVersion: pledge.dev/v7\nkind: Postgres\nmetadata: {name: future, team: payments}\nspec: {}\n")
    inv = inventory(DirTree(root))
    rows = {r.name: r for r in inv.rows}
    assert (rows["broken"].lifecycle, rows["broken"].offering) == ("invalid", "")
    assert (rows["future"].lifecycle, rows["future"].offering) == ("unknown", "postgres")
    assert [(c.offering, c.api_version, c.lifecycle, c.requests) for c in inv.counts if c.lifecycle == "unknown"] == [
        ("", "", "unknown", 1), ("", "pledge.dev/v7", "unknown", 1)]


def test_cli_formats(history_repo: Path) -> None:
    def run(fmt: str) -> str:
        result = CliRunner().invoke(main, ["inventory", "--repo", str(history_repo), "--format", fmt])
        assert result.exit_code == 0, result.output
        return result.output

    text = run("text").splitlines()
    assert text[0].split() == ["ENV", "TEAM", "NAME", "OFFERING", "APIVERSION", "LIFECYCLE", "AGE", "LASTCHANGE",
                               "LABELS"]
    orders = next(line for line in text if line.startswith("dev") and " orders-db " in line)
    assert "deprecated (sunset 2027-06-30, -> pledge.dev/v2)" in orders and "2026-11-01" in orders
    assert "325d" in orders  # PLEDGE_TODAY is 2026-12-01 in the tests; created 2026-01-10
    assert any(line.split()[:5] == ["postgres", "pledge.dev/v2", "Postgres", "stable", "0"] for line in text)
    assert text[-1] == "16 request(s) on 2026-12-01"
    data = json.loads(run("json"))
    assert data["history"] is True and data["today"] == "2026-12-01"
    first = next(r for r in data["requests"] if r["path"] == "requests/dev/payments/orders-db.yaml")
    assert first | {"labels": {}} == {
        "path": "requests/dev/payments/orders-db.yaml", "env": "dev", "team": "payments", "name": "orders-db",
        "kind": "Postgres", "offering": "postgres", "apiVersion": "pledge.dev/v1", "lifecycle": "deprecated",
        "successor": "pledge.dev/v2", "sunset": "2027-06-30", "labels": {}, "created": "2026-01-10",
        "lastChange": "2026-11-01", "ageDays": 325}
    rows = list(csv.DictReader(io.StringIO(run("csv"))))
    assert len(rows) == 16
    prod = next(r for r in rows if r["path"] == "requests/prod/payments/orders-db.yaml")
    assert (prod["labels"], prod["created"], prod["ageDays"], prod["lifecycle"]) == (
        "cost-centre=cc-1234", "2026-01-10", "325", "deprecated")
