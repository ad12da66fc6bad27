"""Runaway guards: huge strings and lists, exponential structures, deep nesting, step budget, regex backtracking."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.core.policy import load_payload
from bot.core.policy.model import MAX_STEPS, MAX_STRING, RuleResult
from bot.core.policy.regex import HAVE_RE2
from tests.policy.policy_helpers import run


def _timed(check: Any, payload: Any) -> tuple[RuleResult, float]:
    start = time.perf_counter()
    result = run(check, payload)
    return result, time.perf_counter() - start


def test_padding_to_a_huge_width_is_an_error() -> None:
    result, took = _timed({"(pad_left('a', `100000000`))": "x"}, {})
    assert result.status == "error"
    assert f"width larger than {MAX_STRING}" in (result.error or "")
    assert took < 5


def test_exponential_replacement_is_bounded() -> None:
    expr = "'a'"
    for _ in range(8):
        expr = f"replace_all({expr}, 'a', 'aaaaaaaaaa')"
    result, took = _timed({f"(length({expr}))": 1}, {})
    assert result.status == "error"
    assert "longer than" in (result.error or "")
    assert took < 5


def test_exponential_structures_cannot_be_serialized() -> None:
    expr = "@"
    for _ in range(30):
        expr = f"[{expr}, {expr}]" if len(expr) < 60 else f"let $x = {expr} in [$x, $x]"
    result, took = _timed({f"(length(to_string({expr})))": 1}, {"a": "b"})
    assert result.status == "error"
    assert took < 10


def test_split_into_too_many_pieces_is_an_error() -> None:
    result = run({"(length(split(s, '')))": 1}, {"s": "x" * 300_000})
    assert result.status == "error"
    assert "list result longer" in (result.error or "")


def test_quadratic_expressions_hit_the_step_budget() -> None:
    payload = {"items": [{"x": i} for i in range(3000)]}
    result, took = _timed({"(length(items[*].map(&x, $payload.items)))": 3000}, payload)
    assert result.status == "error"
    assert f"evaluation budget exceeded ({MAX_STEPS} steps)" in (result.error or "")
    assert took < 30


def test_quadratic_trees_hit_the_step_budget() -> None:
    payload = {"items": list(range(2000))}
    result, took = _timed({"~.items": {"~.($payload.items)": {}}}, payload)
    assert result.status == "error"
    assert "evaluation budget exceeded" in (result.error or "")
    assert took < 30


@pytest.mark.skipif(not HAVE_RE2, reason="google-re2 is not installed (test_policy_env fails in that case)")
def test_catastrophic_regex_runs_in_linear_time() -> None:
    result, took = _timed({"(regex_match('^(a+)+$', s))": False}, {"s": "a" * 50_000 + "b"})
    assert result.status == "pass"
    assert took < 5


def test_deeply_nested_values_are_errors_not_crashes() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert run({"(to_string(@))": "x"}, deep).status == "error"
    assert run({"(@ == @)": True}, deep).status == "pass"  # identical objects short-circuit
    result = run({"(@)": "($payload)"}, deep)  # leaf matching recurses into both values
    assert result.status == "error"
    assert "nested too deeply" in (result.error or "")
    assert run({"(@)": "(json_parse(s))"}, {"s": "[" * 100_000}).status == "error"


def test_deep_payload_documents_are_refused() -> None:
    with pytest.raises(ValueError, match="nest"):
        load_payload("a: " + "[" * 1000 + "]" * 1000 + "\nb: {c: [x: y]}\n" + "{" * 600)
