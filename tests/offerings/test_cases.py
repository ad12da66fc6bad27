"""Golden cases: every folder under tests/cases/ is one request run through the core, findings compared exactly.

A case folder holds:
- `request.yaml`: the request file;
- `expected.yaml`: `path` (where the request sits in the platform repository, requests/<env>/<team>/<name>.yaml)
  and `findings`, a list of {rule, line, severity, message} where `message` is a substring of the finding's
  message; the list must match the findings one to one (no finding missing, no extra finding of any severity);
- optionally `files/`: more files of the platform repository (its own schemas/, renderers/, policies/, or a
  pledge.yaml replacing tests/offerings/pledge.yaml).

The request is judged like `pledge validate` (`bot.core.validate.validate_tree`); a request without error findings
is then rendered and its objects judged by the rendered-object policies, like `pledge render` and `pledge check`.
Every bundled policy must have at least one case where it passes and one where it fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.catalog import load_catalog
from bot.core.platform import load_config
from bot.core.render import render_request
from bot.core.report import Finding
from bot.core.request import parse
from bot.core.tree import MemoryTree
from bot.core.validate import bindings, judge_rendered, request_entries, validate_tree
from tests.offerings.conftest import CASES, PLEDGE

EXPECTED_KEYS = {"rule", "line", "severity", "message"}


@dataclass
class Outcome:
    findings: list[Finding]
    # policy name -> "pass" | "fail" | "error", for every policy that applied to the request or its objects
    policies: dict[str, str] = field(default_factory=dict)


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def load_expected(folder: Path) -> dict[str, Any]:
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    assert isinstance(expected, dict) and set(expected) <= {"path", "findings"}, f"{folder}/expected.yaml"
    assert str(expected.get("path", "")).startswith("requests/"), f"{folder}/expected.yaml: path"
    for item in expected.get("findings") or []:
        assert set(item) == EXPECTED_KEYS, f"{folder}/expected.yaml: {item}"
    return expected


def case_tree(folder: Path) -> MemoryTree:
    files: dict[str, bytes] = {"pledge.yaml": PLEDGE}
    extra = folder / "files"
    if extra.is_dir():
        files.update({p.relative_to(extra).as_posix(): p.read_bytes() for p in extra.rglob("*") if p.is_file()})
    files[load_expected(folder)["path"]] = (folder / "request.yaml").read_bytes()
    return MemoryTree(files)


def _merge(outcomes: dict[str, str], name: str, results: list[Any]) -> None:
    for res in results:
        status = res.status
        previous = outcomes.get(name)
        if previous == "error" or (previous == "fail" and status == "pass"):
            continue
        outcomes[name] = status


@cache
def run_case(folder: Path) -> Outcome:
    tree = case_tree(folder)
    findings = set(validate_tree(tree).findings)
    config = load_config(tree)
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    # every request that parses is judged here, even one whose policies fail (load_requests keeps only
    # the requests fit to render)
    parsed = [parse(p, tree.read(p), catalog, config, symlink=s)[0] for p, s in request_entries(tree)]
    requests = [r for r in parsed if r is not None]
    outcome = Outcome([])
    for req in requests:
        binds = bindings(req, config)
        for pol in [*req.offering.policies, *catalog.request_policies]:
            _merge(outcome.policies, pol.name, pol.evaluate(req.data, binds))
        if any(f.path == req.path and f.severity == "error" for f in findings):
            continue  # a request with errors renders nothing (what render and check publish)
        rendered, problems = render_request(req, config)
        if not problems:
            problems = judge_rendered(rendered, catalog, config)
            for obj in rendered.objects:
                for pol in catalog.rendered_policies:
                    _merge(outcome.policies, pol.name, pol.evaluate(obj, binds | {"request": req.data}))
        findings.update(problems)
    outcome.findings = sorted(findings)
    return outcome


def compare(expected: list[dict[str, Any]], actual: list[Finding]) -> list[str]:
    """Problems matching expected findings to actual ones one to one (empty when they match)."""
    left = list(actual)
    problems = []
    for item in expected:
        hit = next((f for f in left if (f.rule, f.line, f.severity) == (item["rule"], item["line"], item["severity"])
                    and item["message"] in f.message), None)
        if hit is None:
            problems.append(f"missing: {item}")
        else:
            left.remove(hit)
    problems += [f"unexpected: {f.path}:{f.line}:{f.column} {f.severity} {f.rule}: {f.message}" for f in left]
    return problems


@pytest.mark.parametrize("folder", case_dirs(), ids=[p.name for p in case_dirs()])
def test_case(folder: Path) -> None:
    expected = load_expected(folder)
    outcome = run_case(folder)
    assert compare(expected.get("findings") or [], outcome.findings) == []
    assert all(f.path == expected["path"] for f in outcome.findings), "findings must name the request file"
    assert "error" not in outcome.policies.values(), outcome.policies


def test_cases_exist() -> None:
    assert len(case_dirs()) >= 40
    for folder in case_dirs():
        assert (folder / "request.yaml").is_file() and (folder / "expected.yaml").is_file(), folder


def test_every_bundled_policy_has_a_passing_and_a_failing_case() -> None:
    bundled = load_catalog(None)
    assert bundled.findings == []
    names = {p.name for o in bundled.offerings.values() for p in o.policies}
    names |= {p.name for p in [*bundled.request_policies, *bundled.rendered_policies]}
    seen: dict[str, set[str]] = {name: set() for name in names}
    for folder in case_dirs():
        for name, status in run_case(folder).policies.items():
            seen.setdefault(name, set()).add(status)
    missing = {name: sorted({"pass", "fail"} - statuses) for name, statuses in seen.items()
               if name in names and not {"pass", "fail"} <= statuses}
    assert missing == {}, "add tests/cases for these policies (and outcomes)"


def test_every_bundled_policy_loads_with_annotations_pledge_reads() -> None:
    bundled = load_catalog(None)
    policies = [p for o in bundled.offerings.values() for p in o.policies]
    policies += [*bundled.request_policies, *bundled.rendered_policies]
    severities = {p.annotations.get("pledge.dev/severity", "error") for p in policies}
    assert severities == {"error", "warning", "notice"}
    assert any(p.annotations.get("pledge.dev/approvable") == "true" for p in policies)
    assert {p.source.split("/")[2] for p in policies} == {
        "_requests", "_rendered", "namespace", "postgres", "bucket", "ci-runner", "monitoring", "dev-cluster"}
