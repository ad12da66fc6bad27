"""Value comparison: JMESPath `==` (numeric-sane deep equality) and kyverno-json's leaf `Match`."""

from __future__ import annotations

from typing import Any

from bot.core.policy.model import MAX_DEPTH, EvalError


class MatchError(Exception):
    """Values that kyverno-json refuses to compare (the rule becomes `error`)."""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(a: Any, b: Any, depth: int = 0) -> bool:
    """Deep equality where 1 == 1.0 but true != 1, as JSON values."""
    if a is b:
        return True
    if depth > MAX_DEPTH:
        raise EvalError("value nested too deeply")
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, dict):
        if not isinstance(b, dict) or len(a) != len(b):
            return False
        return all(key in b and json_equal(value, b[key], depth + 1) for key, value in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return type(a) is type(b) and bool(a == b)


def kind_name(value: Any) -> str:
    """The Go reflect.Kind name of a decoded JSON value, for error messages."""
    if value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    return type(value).__name__


def match(expected: Any, actual: Any, depth: int = 0) -> bool:
    """matching.Match: lists pairwise, maps as a subset of the actual map, scalars by `equal`."""
    if depth > MAX_DEPTH:
        raise MatchError("value nested too deeply")
    if isinstance(expected, list):
        if not isinstance(actual, list):
            raise MatchError(f"invalid actual value, must be a slice, found {kind_name(actual)}")
        if len(expected) != len(actual):
            return False
        return all(match(e, a, depth + 1) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise MatchError(f"invalid actual value, must be a map, found {kind_name(actual)}")
        for key, value in expected.items():
            if key not in actual or not match(value, actual[key], depth + 1):
                return False
        return True
    return equal(expected, actual)


def equal(expected: Any, actual: Any) -> bool:
    """matching.Equal for scalars: null only equals null, numbers compare numerically, other mixes error."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if type(expected) is type(actual):
        return bool(expected == actual)
    if is_number(expected) and is_number(actual):
        return bool(expected == actual)
    raise MatchError(f"types are not comparable, {kind_name(expected)} - {kind_name(actual)}")
