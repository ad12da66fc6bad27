"""kyverno-json's custom functions and Kyverno's JMESPath functions (no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.policy.dialect import search
from bot.core.policy.model import EvalError
from bot.core.policy.quantity import format_duration, parse_duration


def jp(expr: str, value: Any = None) -> Any:
    return search(expr, value)


CASES: list[tuple[str, Any, Any]] = [
    ("at(`[\"a\", \"b\"]`, `1`)", None, "b"),
    ("concat('a', 'b')", None, "ab"),
    ("json_parse('{\"a\": [1, 2.5]}')", None, {"a": [1, 2.5]}),
    ("wildcard('?*', 'A-Team')", None, True),
    ("wildcard('?*', '')", None, False),
    ("wildcard('bypass-*', 'bypass-x')", None, True),
    ("wildcard('a*c', 'abbbc')", None, True),
    ("compare('a', 'b')", None, -1),
    ("compare('b', 'b')", None, 0),
    ("equal_fold('Go', 'GO')", None, True),
    ("replace_all('a-b-c', '-', '+')", None, "a+b+c"),
    ("to_upper('abc')", None, "ABC"),
    ("to_lower('ÀBC')", None, "àbc"),
    ("to_upper('ß')", None, "ß"),  # Go maps rune by rune
    ("trim_prefix('prefix-x', 'prefix-')", None, "x"),
    ("regex_match('^v[0-9]+$', 'v12')", None, True),
    ("regex_match('[0-9]', `12`)", None, True),
    ("regex_match('^a', 'ba')", None, False),
    ("regex_replace_all('([a-z]+)@(?P<d>[a-z]+)', 'bob@example', '${d}:$1')", None, "example:bob"),
    ("regex_replace_all('x*', 'abxd', '-')", None, "-a-b-d-"),
    ("regex_replace_all_literal('a', 'banana', '$1')", None, "b$1n$1n$1"),
    ("pattern_match('team-*', 'team-a')", None, True),
    ("pattern_match('1?', `12`)", None, True),
    ("label_match(`{\"app\": \"web\"}`, `{\"app\": \"web\", \"tier\": \"x\"}`)", None, True),
    ("label_match(`{\"app\": \"web\"}`, `{\"tier\": \"x\"}`)", None, False),
    ("to_boolean('TrUe')", None, True),
    ("add(`1`, `2.5`)", None, 3.5),
    ("add('100Mi', '100Mi')", None, "200Mi"),
    ("add('1Gi', '512Mi')", None, "1536Mi"),
    ("add('1', '500m')", None, "1500m"),
    ("add('1h', '30m0s')", None, "1h30m0s"),
    ("subtract('1Gi', '1Gi')", None, "0"),
    ("subtract('2h', '30m0s')", None, "1h30m0s"),
    ("multiply('100Mi', `2`)", None, "200Mi"),
    ("multiply(`3`, '1h')", None, "3h0m0s"),
    ("divide('1Gi', '512Mi')", None, 2.0),
    ("divide('1h', `4`)", None, "15m0s"),
    ("divide(`1`, `4`)", None, 0.25),
    ("modulo('7Gi', '2Gi')", None, "1Gi"),
    ("modulo(`-7`, `2`)", None, -1),
    ("sum(`[\"1Gi\", \"1Gi\"]`)", None, "2Gi"),
    ("round(`2.5`, `0`)", None, 3.0),
    ("round(`1.2345`, `2`)", None, 1.23),
    ("base64_encode('hello')", None, "aGVsbG8="),
    ("base64_decode('aGVsbG8=')", None, "hello"),
    ("path_canonicalize('/a//b/../c/.')", None, "/a/c"),
    ("path_canonicalize('a/../../b')", None, "../b"),
    ("truncate('kubernetes', `4`)", None, "kube"),
    ("truncate('abc', `-1`)", None, ""),
    ("semver_compare('1.2.3', '>=1.0.0 <2.0.0')", None, True),
    ("semver_compare('1.2.3', '1.2.x')", None, True),
    ("semver_compare('2.0.0', '<1.0.0 || >=3.0.0')", None, False),
    ("semver_compare('1.0.0-rc.1', '<1.0.0')", None, True),
    ("parse_json('[1, \"a\"]')", None, [1, "a"]),
    ("parse_yaml('a: [1, x]\nb: 2024-01-01')", None, {"a": [1, "x"], "b": "2024-01-01"}),
    ("lookup(@, 'a')", {"a": 1}, 1),
    ("lookup(`[1, 2]`, `5`)", None, None),
    ("object_from_lists(`[\"a\", \"b\"]`, `[1]`)", None, {"a": 1, "b": None}),
    ("object_from_lists(`[1.5, 2]`, `[1, 2]`)", None, {"1.5": 1, "2": 2}),
    ("time_add('2023-01-01T00:00:00Z', '1h30m')", None, "2023-01-01T01:30:00Z"),
    ("time_parse('2006-01-02', '2023-03-04')", None, "2023-03-04T00:00:00Z"),
    ("time_parse('02 Jan 06 15:04 -0700', '04 Mar 22 17:06 +0100')", None, "2022-03-04T17:06:00+01:00"),
    ("time_utc('2023-01-01T02:00:00+02:00')", None, "2023-01-01T00:00:00Z"),
    ("time_diff('2023-01-01T00:00:00Z', '2023-01-02T01:00:00.5Z')", None, "25h0m0.5s"),
    ("time_since('', '2023-01-01T00:00:00Z', '2023-01-01T00:01:00Z')", None, "1m0s"),
    ("time_since('2006-01-02', '2023-01-01', '2023-01-03')", None, "48h0m0s"),
    ("time_before('2023-01-01T00:00:00Z', '2023-01-02T00:00:00Z')", None, True),
    ("time_after('2023-01-01T00:00:00Z', '2023-01-02T00:00:00Z')", None, False),
    ("time_between('2023-01-02T00:00:00Z', '2023-01-01T00:00:00Z', '2023-01-03T00:00:00Z')", None, True),
    ("time_between('2023-01-01T00:00:00Z', '2023-01-01T00:00:00Z', '2023-01-03T00:00:00Z')", None, False),
    ("time_truncate('2023-03-04T05:06:07+02:00', '24h')", None, "2023-03-04T02:00:00+02:00"),
    ("time_to_cron('2023-03-05T04:30:00Z')", None, "30 4 5 3 0"),
]


@pytest.mark.parametrize(("expr", "value", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_function(expr: str, value: Any, expected: Any) -> None:
    assert jp(expr, value) == expected


ERRORS = [
    ("at(`[1]`, `3`)", "out of range"),
    ("at(`[1]`, `0.5`)", "must be an integer"),
    ("json_parse('{')", "invalid JSON"),
    ("json_parse('NaN')", "invalid JSON"),
    ("to_boolean('yes')", "must be 'true' or 'false'"),
    ("add('1h', '1Gi')", "Types mismatch"),
    ("add('abc', `1`)", "invalid operand"),
    ("divide(`1`, `0`)", "Zero divisor"),
    ("modulo(`1.5`, `1`)", "Non-integer"),
    ("round(`1.5`, `-1`)", "out of bounds"),
    ("base64_decode('%%%')", "illegal base64"),
    ("regex_match('(a', 'a')", "error parsing regexp"),
    ("semver_compare('1.0.0', '>>1')", "semver"),
    ("parse_yaml('a: [')", "invalid YAML"),
    ("time_parse('2006-01-02', 'nope')", "cannot parse"),
    ("time_add('2023-01-01T00:00:00Z', '1y')", "unknown unit"),
    ("lookup(`{}`, `1`)", "not of type String"),
    ("label_match(`[]`, `{}`)", "invalid type"),
]


@pytest.mark.parametrize(("expr", "message"), ERRORS, ids=[e[0][:50] for e in ERRORS])
def test_function_errors(expr: str, message: str) -> None:
    with pytest.raises(EvalError, match=message):
        jp(expr)


def test_time_now_formats() -> None:
    assert jp("time_now_utc()").endswith("Z")
    assert len(jp("time_now()")) in (20, 25)
    assert jp("time_before(time_now_utc(), '9999-01-01T00:00:00Z')") is True


def test_go_durations_round_trip() -> None:
    for text, ns in [("0s", 0), ("1.5s", 1_500_000_000), ("250ms", 250_000_000), ("1µs", 1000), ("3ns", 3),
                     ("1h0m0s", 3_600_000_000_000), ("-1m30s", -90_000_000_000)]:
        assert parse_duration(text) == ns
        assert format_duration(ns) == text
    assert parse_duration("1h30m") == parse_duration("90m")
    with pytest.raises(EvalError):
        parse_duration("")
    with pytest.raises(EvalError):
        parse_duration("5")
