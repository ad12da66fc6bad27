"""Text output (kyverno-json's shape) and the documented JSON output."""

from __future__ import annotations

import json

from bot.core.policy import FieldError, RuleResult, Violation, format_json, format_text, scan
from tests.policy.policy_helpers import check_rule, policy


def _results() -> list[RuleResult]:
    pol = policy([
        check_rule({"a": 1}, name="ok", identifier="id"),
        {"name": "bad", "assert": {"all": [{"message": "a is {{ to_string(a) }}", "check": {"a": 1}}]}},
        check_rule({"a": "x"}, name="broken"),
    ], name="p")
    return scan([pol], [{"a": 1, "id": "first"}, {"a": 2}])


def test_text_output_shape() -> None:
    text = format_text(_results(), policies=1, resources=2, bindings={"env": "dev", "n": {"b": 1, "a": [1]}})
    assert text == (
        "Loading policies ...\n"
        "Loading bindings ...\n"
        "- env -> dev\n"
        "- n -> map[a:[1] b:1]\n"
        "Loading payload ...\n"
        "Pre processing ...\n"
        "Running ( evaluating 2 resources against 1 policy ) ...\n"
        "- PASSED (POLICY=p, RULE=ok, ID=first)\n"
        "- PASSED (POLICY=p, RULE=bad)\n"
        "- ERROR: a: Internal error: types are not comparable, string - int64 (POLICY=p, RULE=broken)\n"
        "- FAILED (POLICY=p, RULE=ok, ID=<nil>)\n"
        " -> (CHECK=spec.rules[0].assert.all[0])\n"
        "  -> Invalid value: 2: Expected value: 1 (PATH=a)\n"
        "- FAILED (POLICY=p, RULE=bad)\n"
        " -> a is 2 (CHECK=spec.rules[1].assert.all[0])\n"
        "  -> Invalid value: 2: Expected value: 1 (PATH=a)\n"
        "- ERROR: a: Internal error: types are not comparable, string - int64 (POLICY=p, RULE=broken)\n"
        "Done\n")


def test_text_output_without_header_and_inferred_counts() -> None:
    results = _results()
    assert format_text(results, header=False).splitlines()[0] == "- PASSED (POLICY=p, RULE=ok, ID=first)"
    assert "Running ( evaluating 2 resources against 1 policy ) ..." in format_text(results)
    assert format_text([], header=False) == ""


def test_json_output_is_documented_shape() -> None:
    data = json.loads(format_json(_results()))
    assert list(data) == ["results"]
    first_fail = data["results"][3]
    assert first_fail == {
        "policy": "p", "rule": "ok", "resource": 1, "identifier": "<nil>", "status": "fail", "error": None,
        "violations": [{"check": "spec.rules[0].assert.all[0]", "message": None, "errors": [
            {"type": "FieldValueInvalid", "path": "a", "detail": "Invalid value: 2: Expected value: 1",
             "location": ["a"]}]}]}
    assert data["results"][2]["status"] == "error"
    assert data["results"][2]["violations"] == []


def test_json_output_of_handmade_results() -> None:
    result = RuleResult("p", "r", 0, None, "fail", (Violation("c", "m", (FieldError("x", "T", "d", None),)),))
    assert json.loads(format_json([result]))["results"][0]["violations"][0]["errors"][0]["location"] is None
