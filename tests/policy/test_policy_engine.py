"""Rule flow: match/exclude quirks, assert any/all, context entries, identifier, messages, bindings, scan."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.policy import ScanError, scan
from bot.core.policy import dialect as dialect_module
from tests.policy.policy_helpers import check_rule, policy, run


def _applies(match: dict[str, Any], payload: Any, key: str = "match") -> bool:
    return bool(policy([check_rule({}, **{key: match})]).evaluate(payload))


def test_match_any_short_circuits_and_ignores_all() -> None:
    match = {"any": [{"kind": "Pod"}], "all": [{"kind": "Deployment"}]}
    assert _applies(match, {"kind": "Pod"})  # kyverno-json quirk: `all` is ignored once an `any` tree passes
    assert not _applies(match, {"kind": "Job"})
    assert _applies({"all": [{"kind": "Pod"}, {"a": 1}]}, {"kind": "Pod", "a": 1})
    assert not _applies({"all": [{"kind": "Pod"}, {"a": 1}]}, {"kind": "Pod", "a": 2})


def test_match_all_is_still_evaluated_after_any_failed() -> None:
    match = {"any": [{"kind": "Pod"}], "all": [{"a": "x"}]}
    result = policy([check_rule({}, match=match)]).evaluate({"kind": "Job", "a": 1})
    assert [r.status for r in result] == ["error"]  # the `all` tree's type error still surfaces


def test_exclude_holds_drops_the_rule() -> None:
    rule = check_rule({}, match={"any": [{"kind": "Pod"}]}, exclude={"any": [{"(starts_with(name, 'x'))": True}]})
    pol = policy([rule])
    assert pol.evaluate({"kind": "Pod", "name": "x1"}) == []
    assert [r.status for r in pol.evaluate({"kind": "Pod", "name": "y"})] == ["pass"]


def test_match_error_makes_the_rule_error() -> None:
    result = policy([check_rule({}, match={"any": [{"kind": 1}]})]).evaluate({"kind": "Pod"})
    assert result[0].status == "error"
    assert result[0].error == "kind: Internal error: types are not comparable, int64 - string"


def test_assert_any_first_pass_clears_failures_and_all_still_runs() -> None:
    rule = {"name": "r", "assert": {"any": [{"check": {"a": 1}}, {"check": {"a": 2}}],
                                    "all": [{"check": {"b": 1}}]}}
    pol = policy([rule])
    assert pol.evaluate({"a": 2, "b": 1})[0].status == "pass"
    failed = pol.evaluate({"a": 2, "b": 2})[0]
    assert [v.check for v in failed.violations] == ["spec.rules[0].assert.all[0]"]
    # no `any` assertion passes: every `any` failure is reported and `all` is skipped
    failed = pol.evaluate({"a": 3, "b": 2})[0]
    assert [v.check for v in failed.violations] == ["spec.rules[0].assert.any[0]", "spec.rules[0].assert.any[1]"]


def test_every_failing_all_assertion_is_a_violation() -> None:
    rule = {"name": "r", "assert": {"all": [{"check": {"a": 1}}, {"check": {"b": 1}}, {"check": {"c": 1}}]}}
    result = policy([rule]).evaluate({"a": 2, "b": 1, "c": 2})[0]
    assert [v.check for v in result.violations] == ["spec.rules[0].assert.all[0]", "spec.rules[0].assert.all[2]"]


def test_all_rules_run_and_order_is_kept() -> None:
    rules = [check_rule({"a": 1}, name="one"), check_rule({"a": 2}, name="two"), check_rule({"a": 1}, name="three")]
    results = policy(rules).evaluate({"a": 1})
    assert [(r.rule, r.status) for r in results] == [("one", "pass"), ("two", "fail"), ("three", "pass")]


def test_context_entries_are_ordered_and_can_shadow() -> None:
    context = [{"name": "tag", "variable": "latest"}, {"name": "tag", "variable": "(concat(':', $tag))"}]
    assert run({"(ends_with(image, $tag))": True}, {"image": "nginx:latest"}, context=context).status == "pass"


def test_context_literals_are_not_evaluated_inside() -> None:
    context = [{"name": "tags", "variable": {"team": "(nope)"}}, {"name": "n", "variable": 3}]
    assert run({"tags": "($tags)", "n": "($n)"}, {"tags": {"team": "(nope)"}, "n": 3}, context=context).status == "pass"


def test_context_variable_expression_sees_the_resource() -> None:
    context = [{"name": "name", "variable": "(metadata.name)"}]
    assert run({"spec": {"(concat($name, '-db'))": "x-db"}}, {"metadata": {"name": "x"}, "spec": {}},
               context=context).status == "pass"


def test_context_errors_only_when_used() -> None:
    context = [{"name": "bad", "variable": "(at(`[]`, `3`))"}]
    assert run({"a": 1}, {"a": 1}, context=context).status == "pass"
    result = run({"a": "($bad)"}, {"a": 1}, context=context)
    assert result.status == "error"
    assert result.error is not None
    assert "spec.rules[0].context[0].variable: Internal error: at(): index 3 out of range" in result.error


def test_context_entries_are_lazy_and_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = dialect_module.JpProgram.__call__

    def counting(self: Any, value: Any, ev: Any, scope: Any) -> Any:
        calls.append(self.source)
        return original(self, value, ev, scope)

    monkeypatch.setattr(dialect_module.JpProgram, "__call__", counting)
    context = [{"name": "x", "variable": "(a)"}, {"name": "unused", "variable": "(b)"}]
    assert run({"(`1`)": "($x)", "(`2`)": "(`2`)", "(`1` )": "($x)"}, {"a": 1}, context=context).status == "pass"
    assert calls.count("a") == 1
    assert "b" not in calls


def test_identifier_is_rendered_like_go() -> None:
    assert run({}, {"n": "x"}, identifier="n").identifier == "x"
    assert run({}, {"n": 4}, identifier="n").identifier == "4"
    assert run({}, {"n": [1, "a"]}, identifier="n").identifier == "[1 a]"
    assert run({}, {"n": {"b": 1, "a": None}}, identifier="n").identifier == "map[a:<nil> b:1]"
    assert run({}, {}, identifier="n").identifier == "<nil>"
    assert run({}, {"n": ""}, identifier="n").identifier is None  # nothing to print
    assert run({}, {"n": 1}, identifier="at(`[]`, `1`)").identifier == "(error: at(): index 1 out of range [0, 0))"


def test_messages_are_templated_against_the_resource() -> None:
    rule = {"name": "r", "context": [{"name": "env", "variable": "dev"}], "assert": {"all": [
        {"message": "{{ metadata.name }} in {{$env}}: {{ spec.size }} / {{ nope }} / {{ at(`[]`, `0`) }}",
         "check": {"spec": {"size": 1}}}]}}
    result = policy([rule]).evaluate({"metadata": {"name": "db"}, "spec": {"size": 2}})[0]
    assert result.violations[0].message == ("db in dev: ERR (spec.size not a string) / ERR (nope not found) / "
                                            "ERR (at(`[]`, `0`) - at(): index 0 out of range [0, 0))")


def test_message_is_none_without_message() -> None:
    assert run({"a": 1}, {"a": 2}).violations[0].message is None


def test_bindings_are_passed_without_dollar_and_shadowed_by_payload() -> None:
    pol = policy([check_rule({"(env)": None, "($env)": "dev", "($payload.a)": 1, "($config.x)": [1]})])
    assert pol.evaluate({"a": 1}, {"env": "dev", "config": {"x": [1]}})[0].status == "pass"
    assert pol.evaluate({"a": 1}, {"env": "prod", "config": {"x": [1]}})[0].status == "fail"
    shadow = policy([check_rule({"($payload)": {"a": 1}})])
    assert shadow.evaluate({"a": 1}, {"payload": "user value"})[0].status == "pass"


def test_missing_binding_is_an_error() -> None:
    result = run({"($env)": "dev"}, {})
    assert result.status == "error"
    assert result.error == "($env): Internal error: variable not defined: $env"


def test_rule_and_policy_bindings() -> None:
    assert run({"($rule.name)": "r", "($policy.metadata.name)": "test"}, {}).status == "pass"


def test_root_is_null_use_payload() -> None:
    assert run({"($)": None, "($payload.a)": 1}, {"a": 1}).status == "pass"


def test_scan_splits_arrays_and_orders_by_resource_policy_rule() -> None:
    p1 = policy([check_rule({"a": 1}, name="x"), check_rule({"a": 2}, name="y")], name="p1")
    p2 = policy([check_rule({"a": 1}, name="z", match={"any": [{"kind": "K"}]})], name="p2")
    results = scan([p1, p2], [{"a": 1, "kind": "K"}, {"a": 2}])
    assert [(r.resource, r.policy, r.rule, r.status) for r in results] == [
        (0, "p1", "x", "pass"), (0, "p1", "y", "fail"), (0, "p2", "z", "pass"),
        (1, "p1", "x", "fail"), (1, "p1", "y", "pass")]


def test_scan_preprocess_and_errors() -> None:
    pol = policy([check_rule({"a": 1})])
    results = scan([pol], {"items": [{"a": 1}, {"a": 2}]}, preprocess=["items"])
    assert [r.status for r in results] == ["pass", "fail"]
    assert [r.status for r in scan([pol], {"x": {"a": 1}}, preprocess=["x", "@"])] == ["pass"]
    with pytest.raises(ScanError, match="payload is `null`"):
        scan([pol], None)
    with pytest.raises(ScanError, match="null"):
        scan([pol], {"a": 1}, preprocess=["nope"])
    with pytest.raises(ScanError, match="pre-processor"):
        scan([pol], {"a": 1}, preprocess=["at(`[]`, `1`)"])


def test_compile_errors_report_without_evaluating_match() -> None:
    rule = check_rule({"a": "~.(`1`)"}, match={"any": [{"kind": "never"}]})
    results = policy([rule]).evaluate({"kind": "Pod"})
    assert [r.status for r in results] == ["error"]
    assert results[0].identifier is None


def test_compile_once_evaluate_many(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = {"name": "r", "identifier": "metadata.name",
            "context": [{"name": "tag", "variable": "(concat(':', 'latest'))"}],
            "match": {"any": [{"kind": "Pod"}]}, "exclude": {"any": [{"(metadata.name == 'skip')": True}]},
            "assert": {"all": [{"message": "{{ metadata.name }} uses {{ $tag }}",
                                "check": {"spec": {"~.containers": {"(ends_with(image, $tag))": False}}}}]}}
    pol = policy([rule])
    calls: list[str] = []

    def counting(source: str) -> Any:
        calls.append(source)
        raise AssertionError("the JMESPath parser ran during evaluation")

    from jmespath import parser as jp_parser

    monkeypatch.setattr(dialect_module, "compile_jp", counting)
    monkeypatch.setattr(jp_parser.Parser, "_parse", lambda self, source, *args: counting(source))
    payload = {"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"image": "nginx:latest"}]}}
    for _ in range(200):
        result = pol.evaluate(payload)
        assert result[0].status == "fail"
        assert result[0].violations[0].message == "web uses :latest"
    assert calls == []
    with pytest.raises(AssertionError):  # the patch is live: any parse during the loop would have failed
        jp_parser.Parser()._parse("a")
