"""The trimmed GitHub artifacts match the script that makes them, and the fake really checks requests."""

from __future__ import annotations

import importlib.util
import json

from tests.app.apptest import ROOT
from tests.github.fake_github import SPEC_PATH, OpenAPI


def trim_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("trim_openapi", ROOT / "scripts" / "trim_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_subset_holds_exactly_the_operations_the_script_lists() -> None:
    subset = json.loads(SPEC_PATH.read_text())
    ops = {(m, p) for p, item in subset["paths"].items() for m in item if m != "parameters"}
    assert ops == set(trim_script().OPERATIONS)
    assert subset["info"]["x-source"].startswith("@octokit/openapi")


def test_every_listed_webhook_has_a_schema_and_the_payloads_are_real_examples() -> None:
    script = trim_script()
    schemas = json.loads((SPEC_PATH.parent / "webhook-schemas-subset.json").read_text())
    assert set(script.WEBHOOKS) <= set(schemas["definitions"])
    payloads = sorted(p.stem for p in (SPEC_PATH.parent / "payloads").glob("*.json"))
    assert "pull_request.opened" in payloads and "check_run.rerequested" in payloads


def test_the_fake_matches_paths_like_github() -> None:
    api = OpenAPI()
    assert api.match("PATCH", "/repos/o/r/issues/comments/5").template == \
        "/repos/{owner}/{repo}/issues/comments/{comment_id}"  # type: ignore[union-attr]
    assert api.match("GET", "/repos/o/r/issues/5/comments").template == \
        "/repos/{owner}/{repo}/issues/{issue_number}/comments"  # type: ignore[union-attr]
    assert api.match("DELETE", "/repos/o/r/check-runs/5") is None  # not an operation the subset has
    op = api.match("POST", "/repos/o/r/check-runs")
    assert op is not None
    assert api.check_request(op, {}, json.dumps({"name": "pledge", "head_sha": "a", "status": "completed",
                                                 "output": {"title": "t"}}).encode()) != []
    assert api.check_request(op, {}, json.dumps({"name": "pledge", "head_sha": "a"}).encode()) == []
    actions = [{"label": "x" * 21, "description": "d", "identifier": "i"}]
    assert any("actions" in p for p in api.check_request(op, {}, json.dumps(
        {"name": "pledge", "head_sha": "a", "actions": actions}).encode()))
