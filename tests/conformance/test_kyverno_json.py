"""kyverno-json conformance: every case folder of tests/conformance/kyverno-json reproduces its expected outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core import policy
from bot.core.policy.keys import parse_key

CORPUS = Path(__file__).parent / "kyverno-json"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir() and p.name[:3].isdigit())
SCAN_CASES = [c for c in CASES if "load_error" not in json.loads((c / "expected.json").read_text())]
LOAD_CASES = [c for c in CASES if c not in SCAN_CASES]


def _uses_cel(case: Path) -> bool:
    return "compiler: cel" in (case / "policy.yaml").read_text()


def _param(case: Path) -> Any:
    if _uses_cel(case) and not policy.HAVE_CEL:
        return pytest.param(case, id=case.name, marks=pytest.mark.xfail(
            strict=True, reason="CEL is not supported: the common-expression-language package is not installed"))
    return pytest.param(case, id=case.name)


def _options(case: Path) -> dict[str, Any]:
    path = case / "options.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _run(case: Path) -> tuple[list[policy.Policy], list[policy.RuleResult], int, Any]:
    policies = policy.load_policies((case / "policy.yaml").read_bytes(), str(case / "policy.yaml"))
    options = _options(case)
    payload_file = next(case.glob("payload.*"))
    payload = policy.load_payload(payload_file.read_bytes(), str(payload_file))
    bindings = None
    if options.get("bindings"):
        bindings = policy.load_payload((case / options["bindings"]).read_bytes())
    preprocess = options.get("preprocess", [])
    results = policy.scan(policies, payload, preprocess=preprocess, bindings=bindings)
    count = len(policy.scan_resources(payload, preprocess))
    return policies, results, count, bindings


def test_corpus_is_complete() -> None:
    assert (CORPUS / "README.md").is_file()
    assert (CORPUS / "LICENSE-NOTICE.md").is_file()
    assert "Apache" in (CORPUS / "LICENSE-NOTICE.md").read_text()
    assert len(CASES) == 23
    assert len(LOAD_CASES) == 6
    for case in CASES:
        assert (case / "SOURCE.md").is_file(), case.name


@pytest.mark.parametrize("case", [_param(c) for c in SCAN_CASES])
def test_scan_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())["results"]
    _, results, _, _ = _run(case)
    got = [(r.policy, r.rule, r.resource, r.identifier, r.status) for r in results]
    want = [(e["policy"], e["rule"], e["resource"], e["identifier"], e["status"]) for e in expected]
    assert got == want
    for result, exp in zip(results, expected, strict=True):
        if exp["status"] == "error":
            detail = exp["error_detail"]
            assert result.error is not None
            assert result.error.startswith(detail["field"] + ": ")
            assert result.error.endswith(": " + detail["detail"])
            assert json.dumps(detail["value"]) in result.error
            continue
        assert result.error is None
        want_violations = exp.get("violations", [])
        assert [v.check for v in result.violations] == [v["check"] for v in want_violations]
        for violation, want_v in zip(result.violations, want_violations, strict=True):
            assert violation.message == want_v["message"]
            if want_v["errors"] is None:  # the source did not state them
                assert violation.errors
                continue
            # Go visits sibling map keys in random order: compare the errors as sets.
            assert sorted(e.path for e in violation.errors) == sorted(e["path"] for e in want_v["errors"])
            for want_e in want_v["errors"]:
                same_path = [e for e in violation.errors if e.path == want_e["path"]]
                if "detail" in want_e:
                    assert want_e["detail"] in [e.detail for e in same_path]
                if "type" in want_e:
                    assert want_e["type"] in [e.type for e in same_path]
                if "field_detail" in want_e:
                    assert any(e.detail.endswith(": " + want_e["field_detail"]) for e in same_path)


@pytest.mark.parametrize("case", [_param(c) for c in SCAN_CASES if (c / "expected.txt").exists()])
def test_scan_text_output(case: Path) -> None:
    policies, results, count, bindings = _run(case)
    text = policy.format_text(results, policies=policies, resources=count, bindings=bindings)
    expected = (case / "expected.txt").read_text()
    status_lines = [line for line in expected.splitlines() if line.startswith("- ")]
    assert [line for line in text.splitlines() if line.startswith("- ")] == status_lines
    assert text == expected


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in LOAD_CASES])
def test_load_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    source = str(case / "policy.yaml")
    if expected["load_error"]:
        with pytest.raises(policy.PolicyLoadError) as info:
            policy.load_policies((case / "policy.yaml").read_bytes(), source)
        assert info.value.path == source
        assert info.value.line >= 1 and info.value.column >= 1
        assert expected["policies"] == 0
    else:
        loaded = policy.load_policies((case / "policy.yaml").read_bytes(), source)
        assert len(loaded) == expected["policies"]


ROWS = json.loads((CORPUS / "unit" / "expression-parse.json").read_text())["cases"]


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['key']!r}" for i, r in enumerate(ROWS)])
def test_expression_parse_row(row: dict[str, Any]) -> None:
    parsed = parse_key(row["key"])
    want = row["want"]
    assert (parsed.foreach, parsed.foreach_name, parsed.statement, parsed.binding, parsed.compiler) == (
        want["foreach"], want["foreachName"], want["statement"], want["binding"], want["compiler"])
