"""The `cel` compiler: `object`, `bindings.resolve()`, kyverno-json's string/set extensions, errors."""

from __future__ import annotations

import pytest

from bot.core import policy as engine
from bot.core.policy import PolicyLoadError, celexpr, load_policies
from tests.policy.policy_helpers import check_rule, policy

needs_cel = pytest.mark.skipif(not engine.HAVE_CEL, reason="common-expression-language is not installed "
                               "(test_policy_env reports it; CEL rules then have status error)")


@needs_cel
def test_object_and_bindings() -> None:
    rules = [check_rule({"(object.spec.size)": "(bindings.resolve('max'))", "(has(object.spec))": True})]
    pol = policy(rules, compiler="cel")
    assert pol.evaluate({"spec": {"size": 3}}, {"max": 3})[0].status == "pass"
    assert pol.evaluate({"spec": {"size": 4}}, {"max": 3})[0].status == "fail"


@needs_cel
def test_context_and_tree_bindings_resolve() -> None:
    rule = check_rule({"spec": {"(object.name)->n": {"(bindings.resolve('n') + '-' + bindings.resolve('env'))":
                                                     "x-dev"}}},
                      context=[{"name": "env", "compiler": "jp", "variable": "($e)"}])
    assert policy([rule], compiler="cel").evaluate({"spec": {"name": "x"}}, {"e": "dev"})[0].status == "pass"


@needs_cel
def test_string_and_set_extensions() -> None:
    check = {"(object.name.upperAscii())": "WEB", "(sets.contains(object.tags, ['a']))": True,
             "(object.name.split('e'))": ["w", "b"]}
    assert policy([check_rule(check)], compiler="cel").evaluate({"name": "web", "tags": ["a", "b"]})[0].status == (
        "pass")


@needs_cel
def test_runtime_errors_are_rule_errors() -> None:
    pol = policy([check_rule({"(object.missing)": 1})], compiler="cel")
    result = pol.evaluate({"a": 1})[0]
    assert result.status == "error"
    assert result.error == "(object.missing): Internal error: no such key: missing"
    result = policy([check_rule({"(bindings.resolve('nope'))": 1})], compiler="cel").evaluate({})[0]
    assert result.error == "(bindings.resolve('nope')): Internal error: variable not defined: $nope"


@needs_cel
def test_syntax_errors_fail_at_load() -> None:
    from tests.policy.policy_helpers import doc

    with pytest.raises(PolicyLoadError, match="invalid CEL expression"):
        load_policies(doc([check_rule({"(object.)": 1})], compiler="cel"), "c.yaml")


def test_missing_library_makes_cel_rules_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celexpr, "_cel", None)
    monkeypatch.setattr(celexpr, "HAVE_CEL", False)
    pol = policy([check_rule({"(object.a)": 1}), check_rule({"a": 1}, name="jp-only")], compiler="cel")
    results = pol.evaluate({"a": 1})
    assert [r.status for r in results] == ["error", "pass"]
    assert "CEL is not supported" in (results[0].error or "")
