"""Assertion-tree semantics: keys, projections, foreach, bindings, escapes, slices, scalar comparison rules."""

from __future__ import annotations

from bot.core.policy.keys import parse_key, resolve_compiler
from tests.policy.policy_helpers import errors, run


def test_plain_key_missing_is_a_required_failure() -> None:
    result = run({"foo": {"bar": 4}}, {"foo": {}})
    assert result.status == "fail"
    assert errors(result) == [("foo.bar", "Required value: field not found in the input object")]
    assert result.violations[0].errors[0].type == "FieldValueRequired"


def test_plain_key_on_null_parent_is_a_failure() -> None:
    result = run({"foo": {"bar": 4}}, {"foo": None})
    assert errors(result) == [("foo.bar", "Required value: field not found in the input object")]


def test_present_null_value_counts_as_found() -> None:
    assert run({"foo": None}, {"foo": None}).status == "pass"
    result = run({"foo": 1}, {"foo": None})
    assert errors(result) == [("foo", 'Invalid value: "null": Expected value: 1')]


def test_plain_key_on_non_map_is_an_error() -> None:
    result = run({"foo": {"bar": 1}}, {"foo": [1, 2]})
    assert result.status == "error"
    assert result.error == "foo.bar: Internal error: projection not recognized"
    assert result.violations == ()


def test_dots_in_plain_keys_are_literal() -> None:
    assert run({"a.b": 1}, {"a.b": 1}).status == "pass"
    assert run({"a.b": 1}, {"a": {"b": 1}}).status == "fail"


def test_empty_map_fails_only_on_null() -> None:
    assert run({"foo": {}}, {"foo": {"x": 1}}).status == "pass"
    assert run({"foo": {}}, {"foo": 3}).status == "pass"
    result = run({"foo": {}}, {"foo": None})
    assert errors(result) == [("foo", 'Invalid value: "null": invalid value, must not be null')]


def test_projection_key_passes_its_result_even_null() -> None:
    assert run({"(missing)": None}, {"a": 1}).status == "pass"
    assert run({"(a + `1`)": 2}, {"a": 1}).status == "pass"
    result = run({"(a)": {"b": 1}}, {"a": None})
    assert errors(result) == [("(a).b", "Required value: field not found in the input object")]


def test_foreach_over_a_list_binds_the_index() -> None:
    check = {"~i.items": {"name": "(to_string($i))"}}
    assert run(check, {"items": [{"name": "0"}, {"name": "1"}]}).status == "pass"
    result = run(check, {"items": [{"name": "0"}, {"name": "x"}]})
    assert errors(result) == [("~i.items[1].name", 'Invalid value: "x": Expected value: "1"')]
    assert result.violations[0].errors[0].location == ("items", 1, "name")


def test_foreach_over_a_map_binds_the_key() -> None:
    check = {"~k.labels": {"(starts_with($k, 'team'))": True}}
    assert run(check, {"labels": {"team": "a", "team-x": "b"}}).status == "pass"
    result = run({"~k.labels": "(concat($k, '!'))"}, {"labels": {"a": "a!", "b": "c"}})
    assert errors(result) == [("~k.labels[b]", 'Invalid value: "c": Expected value: "b!"')]
    assert result.violations[0].errors[0].location == ("labels", "b")


def test_foreach_over_empty_list_passes_and_over_null_errors() -> None:
    assert run({"~.items": {"a": 1}}, {"items": []}).status == "pass"
    result = run({"~.(items)": {"a": 1}}, {"items": None})
    assert result.status == "error"
    assert result.error == '~.(items): Invalid value: "null": expected a slice or a map'
    result = run({"~.items": {"a": 1}}, {"items": "text"})
    assert result.error == '~.items: Invalid value: "text": expected a slice or a map'


def test_binding_is_visible_to_descendants_only() -> None:
    check = {"spec": {"(name)->n": {"(concat($n, '-x'))": "a-x"}}}
    assert run(check, {"spec": {"name": "a"}}).status == "pass"
    sibling = {"spec": {"(name)->n": {"(@)": "a"}, "(to_string($n))": "a"}}
    result = run(sibling, {"spec": {"name": "a"}})
    assert result.status == "error"
    assert "variable not defined: $n" in (result.error or "")


def test_binding_and_foreach_together() -> None:
    check = {"~.(items)->all": {"(length($all))": 2, "v": "(`1` + `0`)"}}
    assert run(check, {"items": [{"v": 1}, {"v": 1.0}]}).status == "pass"


def test_escaped_keys_are_literal() -> None:
    payload = {"(x)": 1, "~y": 2, "a->b": 3}
    check = {"\\(x)\\": 1, "\\~y\\": 2, "\\a->b\\": 3}
    assert run(check, payload).status == "pass"
    assert run({"\\(x)\\->v": {"($v)": 1}}, payload).status == "pass"


def test_explicit_and_unknown_compiler_prefixes() -> None:
    assert run({"(jp;a)": 1}, {"a": 1}).status == "pass"
    # An unknown compiler silently turns the key into a plain lookup of the inner text.
    assert run({"(foo;a)": 1}, {"a": 1}).status == "pass"
    assert parse_key("(foo;a)").compiler == "foo"
    assert resolve_compiler("foo", "jp") is None
    assert resolve_compiler("default", "cel") == "cel"


def test_no_any_or_all_inside_trees() -> None:
    assert run({"any": [1]}, {"any": [1]}).status == "pass"
    assert run({"any": [{"a": 1}]}, {"a": 1}).status == "fail"


def test_slice_nodes() -> None:
    assert run({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2, "c": 3}]}).status == "pass"
    result = run({"a": [1, 2]}, {"a": [1]})
    assert errors(result) == [("a", "Invalid value: []interface {}{1}: lengths of slices don't match")]
    assert errors(run({"a": [1]}, {"a": None})) == [("a", 'Invalid value: "null": value is null')]
    result = run({"a": [1]}, {"a": {"x": 1}})
    assert result.status == "error"
    assert result.error == 'a: Invalid value: map[string]interface {}{"x":1}: expected a slice'
    result = run({"a": [1, 5]}, {"a": [1, 2]})
    assert errors(result) == [("a[1]", "Invalid value: 2: Expected value: 5")]
    assert result.violations[0].errors[0].location == ("a", 1)


def test_scalar_type_mismatch_is_an_error() -> None:
    result = run({"a": "4"}, {"a": 4})
    assert result.status == "error"
    assert result.error == "a: Internal error: types are not comparable, string - int64"
    assert run({"a": True}, {"a": "true"}).status == "error"
    assert run({"a": 1}, {"a": {"x": 1}}).status == "error"


def test_numbers_compare_numerically() -> None:
    assert run({"a": 4}, {"a": 4.0}).status == "pass"
    assert run({"a": 4.5}, {"a": 4.5}).status == "pass"
    assert run({"a": "(`4`)"}, {"a": 4}).status == "pass"
    assert run({"a": 1}, {"a": True}).status == "error"


def test_null_only_equals_null() -> None:
    assert run({"a": None}, {"a": None}).status == "pass"
    assert run({"a": None}, {"a": 0}).status == "fail"
    assert run({"a": "(b)"}, {"a": 0}).status == "fail"


def test_expected_values_from_expressions() -> None:
    # an expected map is a subset match, an expected list is pairwise
    assert run({"a": "(`{\"x\": 1}`)"}, {"a": {"x": 1, "y": 2}}).status == "pass"
    assert run({"a": "(`[1, 2]`)"}, {"a": [1, 2.0]}).status == "pass"
    assert run({"a": "(`[1, 2]`)"}, {"a": [1]}).status == "fail"
    result = run({"a": "(`[1]`)"}, {"a": 1})
    assert result.error == "a: Internal error: invalid actual value, must be a slice, found int64"
    result = run({"a": "(`{}`)"}, {"a": "x"})
    assert result.error == "a: Internal error: invalid actual value, must be a map, found string"


def test_literals_have_no_wildcards() -> None:
    assert run({"team": "?*"}, {"team": "A"}).status == "fail"
    assert run({"(wildcard('?*', team))": True}, {"team": "A"}).status == "pass"


def test_foreach_or_binding_in_a_leaf_is_a_rule_error() -> None:
    result = run({"a": "x->y"}, {"a": "x->y"})
    assert result.status == "error"
    assert result.error == ('spec.rules[0].assert.all[0].check.a: Invalid value: "x->y": binding is not '
                            "supported in scalar projections")
    assert run({"a": "\\x->y\\"}, {"a": "x->y"}).status == "pass"


def test_location_stops_at_the_first_projection() -> None:
    payload = {"spec": {"containers": [{"image": "nginx:latest"}]}}
    result = run({"spec": {"~.containers": {"image": {"(ends_with(@, ':latest'))": False}}}}, payload)
    error = result.violations[0].errors[0]
    assert error.path == "spec.~.containers[0].image.(ends_with(@, ':latest'))"
    assert error.location == ("spec", "containers", 0, "image")
    result = run({"~.(spec.containers)": {"image": "x"}}, payload)
    assert result.violations[0].errors[0].location == ()


def test_key_grammar_edge_cases() -> None:
    assert parse_key("~x.a->b").foreach_name == "x"
    assert parse_key("a -> b").statement == "a "  # kyverno-json keeps the space before the arrow
    assert parse_key("a->é").binding == ""  # binding names are ASCII \w only
    assert parse_key("(a)\n").compiler == ""  # `$` is the end of the text, not of a line
    assert parse_key("~.(a)->x").compiler == "default"
