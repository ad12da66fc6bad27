"""The JMESPath dialect: where kyverno-json (go-jmespath) differs from jmespath-community's Python behaviour."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bot.core.policy.dialect import EMPTY_SCOPE, Scope, compile_jp, search
from bot.core.policy.model import EvalError


def jp(expr: str, value: Any = None, **variables: Any) -> Any:
    return search(expr, value, Scope(EMPTY_SCOPE, mapping=variables) if variables else None)


def test_contains_with_non_string_search_is_false() -> None:
    assert jp("contains('abc', `1`)") is False
    assert jp("contains('@', a)", {"a": None}) is False
    assert jp("contains('abc', 'b')") is True
    assert jp("contains(`[1, 2]`, `2.0`)") is True
    assert jp("contains(`[1, 2]`, `true`)") is False  # true is not 1


def test_arithmetic_on_non_numbers_is_null() -> None:
    for expr in ("'a' + `1`", "a + `1`", "'a' + 'b'", "`true` + `1`", "-'a'", "`[1]` * `2`"):
        assert jp(expr, {}) is None, expr
    assert jp("a + b", {"a": 4, "b": 6}) == 10
    assert jp("a \u00d7 b \u00f7 `2` \u2212 `1`", {"a": 4, "b": 6}) == 11  # the Unicode operators


def test_ordering_only_on_numbers() -> None:
    assert jp("'a' < 'b'") is None
    assert jp("`1` < 'a'") is None
    assert jp("`true` < `false`") is None
    assert jp("`1` < `2.5`") is True


def test_modulo_takes_the_dividend_sign_like_go() -> None:
    assert jp("`-7` % `2`") == -1
    assert jp("`7` % `-2`") == 1
    assert jp("`-7.5` % `2`") == -1.5
    assert jp("`7` // `2`") == 3
    assert jp("`-7` // `2`") == -4


def test_division_by_zero_follows_go_floats() -> None:
    assert jp("`10` / `0`") == math.inf
    assert jp("`-10` / `0`") == -math.inf
    assert math.isnan(jp("`0` / `0`"))
    assert math.isnan(jp("`1` % `0`"))
    assert jp("`1` // `0`") == math.inf


def test_equality_is_numeric_but_typed() -> None:
    assert jp("a == `4`", {"a": 4}) is True  # Go would say false (DeepEqual int64 vs float64): not copied
    assert jp("a == `4.0`", {"a": 4}) is True
    assert jp("`1` == `true`") is False
    assert jp("`[1, {\"a\": 2}]` == `[1.0, {\"a\": 2.0}]`") is True
    assert jp("`0` != `false`") is True


def test_kyverno_versions_replace_builtins() -> None:
    with pytest.raises(EvalError, match="items"):
        compile_jp("items(@)")
    assert jp("items(@, 'k', 'v')", {"b": 1, "a": 2}) == [{"k": "a", "v": 2}, {"k": "b", "v": 1}]
    assert jp("items(`[\"x\"]`, 'i', 'v')") == [{"i": 0, "v": "x"}]
    assert jp("split('a,b', ',')") == ["a", "b"]
    with pytest.raises(EvalError):
        compile_jp("split('a,b', ',', `1`)")
    assert jp("trim('xxaxx', 'x')") == "a"
    with pytest.raises(EvalError):
        compile_jp("trim(' a ')")
    assert jp("replace('aaa', 'a', 'b', `2`)") == "bba"
    assert jp("replace('aaa', 'a', 'b', `-1`)") == "bbb"
    assert jp("sum(`[1, 2.5]`)") == 3.5
    with pytest.raises(EvalError, match="at least one element"):
        jp("sum(`[]`)")


def test_to_string_is_go_json() -> None:
    assert jp("to_string(@)", {"b": 1, "a": [1.0, None, "<&>"]}) == '{"a":[1,null,"\\u003c\\u0026\\u003e"],"b":1}'
    assert jp("to_string('x')") == "x"
    assert jp("to_string(`1e-7`)") == "1e-7"


def test_to_number_is_strict() -> None:
    assert jp("to_number('42')") == 42
    assert jp("to_number('1.5e3')") == 1500.0
    assert jp("to_number(' 1')") is None
    assert jp("to_number('1_000')") is None
    assert jp("to_number(`true`)") is None


def test_root_is_null_and_variables_resolve() -> None:
    assert jp("$", {"a": 1}) is None
    assert jp("$x.y", x={"y": 2}) == 2
    assert jp("let $a = `1`, $b = `2` in $a + $b") == 3
    assert jp("let $x = `5` in $x", x=1) == 5  # let shadows outer bindings
    with pytest.raises(EvalError, match=r"variable not defined: \$nope"):
        jp("$nope")


def test_let_scopes_are_restored_after_errors() -> None:
    program = compile_jp("let $a = `1` in at(`[]`, $a)")
    from bot.core.policy.dialect import Evaluator

    ev = Evaluator()
    with pytest.raises(EvalError):
        program(None, ev, EMPTY_SCOPE)
    assert compile_jp("$a")(None, ev, Scope(EMPTY_SCOPE, "a", "outer")) == "outer"


def test_dashed_names_are_subtraction() -> None:
    assert jp("$allowed-values", {"values": 1}, allowed=3) == 2  # `$allowed - values`


def test_community_extensions_work() -> None:
    assert jp("pad_left('a', `3`, '-')") == "--a"
    assert jp("find_first('abcb', 'b')") == 1
    assert jp("group_by(@, &t)", [{"t": "a"}, {"t": "b"}, {"t": "a", "x": 1}]) == {
        "a": [{"t": "a"}, {"t": "a", "x": 1}], "b": [{"t": "b"}]}
    assert jp("zip(`[1, 2]`, `[\"a\"]`)") == [[1, "a"]]
    assert jp("from_items(`[[\"a\", 1]]`)") == {"a": 1}
    assert jp("'abc'[::-1]") == "cba"
    assert jp("trim_left('  a')") == "a"


def test_syntax_errors_are_readable() -> None:
    with pytest.raises(EvalError, match="syntax error"):
        compile_jp("a[")
    with pytest.raises(EvalError, match="syntax error"):
        compile_jp("`foo`")  # legacy unquoted literals are not JSON
    with pytest.raises(EvalError, match="unknown function: nope"):
        compile_jp("nope(@)")
