"""Strict YAML loading: every rejected construct names its line, column and rule."""

from __future__ import annotations

import pytest

from bot.core.yamlfile import MAX_BYTES, YamlProblem, load


@pytest.mark.parametrize(
    ("raw", "rule", "line", "column"),
    [
        (b"", "yaml.empty", 1, 1),
        (b"# only a comment\n", "yaml.empty", 1, 1),
        (b"a: [\n", "yaml.syntax", 2, 1),
        (b"a: 1\n---\nb: 2\n", "yaml.multiple-documents", 2, 1),
        (b"- a\n- b\n", "yaml.not-a-mapping", 1, 1),
        (b"just text\n", "yaml.not-a-mapping", 1, 1),
        (b"a: &x 1\n", "yaml.anchor", 1, 4),
        (b"a: 1\nb: *x\n", "yaml.alias", 2, 4),
        (b"a: {b: 1}\nc:\n  <<: {b: 2}\n", "yaml.merge-key", 3, 3),
        (b"a: !!python/object/apply:os.system [ls]\n", "yaml.tag", 1, 4),
        (b"a: !Ref x\n", "yaml.tag", 1, 4),
        (b"a: 1\nb: 2\na: 3\n", "yaml.duplicate-key", 3, 1),
        (b"a: \xff\xfe\n", "yaml.encoding", 1, 4),
        (b"a:\n  b: \x07\n", "yaml.syntax", 2, 6),
        (b"? [a]\n: 1\n", "yaml.complex-key", 1, 3),
    ],
)
def test_rejected(raw: bytes, rule: str, line: int, column: int) -> None:
    with pytest.raises(YamlProblem) as info:
        load(raw)
    assert (info.value.rule, info.value.line, info.value.column) == (rule, line, column)
    assert info.value.message


def test_alias_after_anchor_is_reported_at_the_anchor() -> None:
    with pytest.raises(YamlProblem) as info:
        load(b"a: &x [1, 2]\nb: *x\n")
    assert info.value.rule == "yaml.anchor"


def test_billion_laughs_is_rejected_without_expansion() -> None:
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" + b"c: [*b, *b, *b]\n"
    with pytest.raises(YamlProblem) as info:
        load(bomb)
    assert info.value.rule == "yaml.anchor"


def test_too_large() -> None:
    with pytest.raises(YamlProblem) as info:
        load(b"a: " + b"x" * MAX_BYTES + b"\n")
    assert info.value.rule == "yaml.too-large"


def test_too_deep() -> None:
    with pytest.raises(YamlProblem) as info:
        load(b"a: " + b"[" * 100 + b"]" * 100 + b"\n")
    assert info.value.rule == "yaml.too-deep"


def test_values_and_marks() -> None:
    doc = load(b"\xef\xbb\xbfa: 1\nb:\n  - x\n  - {c: yes, d: 2024-01-01, e: '07', f: 1.5, g: ~}\n")
    assert doc.data == {"a": 1, "b": ["x", {"c": True, "d": "2024-01-01", "e": "07", "f": 1.5, "g": None}]}
    assert doc.marks[("b", 1, "d")] == (4, 17)
    assert doc.key_marks[("b",)] == (2, 1)
    # a missing path falls back to its nearest parent
    assert doc.mark(("b", 1, "missing", "deeper")) == doc.marks[("b", 1)]


def test_keys_must_be_strings() -> None:
    # issue 11 item 12: `1: a` was taken as the string "1", but Kubernetes' and Flux's YAML readers see a number
    assert load(b"'1': a\n\"true\": b\nx-1: c\n2024-01-01: d\n").data == {
        "1": "a", "true": "b", "x-1": "c", "2024-01-01": "d"}
    for text, line in [(b"1: a\n", 1), (b"a: 1\ntrue: b\n", 2), (b"a:\n  ~: b\n", 2), (b"!!int 3: x\n", 1)]:
        with pytest.raises(YamlProblem) as info:
            load(text)
        assert (info.value.rule, info.value.line) == ("yaml.key-not-string", line)


@pytest.mark.parametrize("number", [b"9" * 5000, b"0x" + b"f" * 5000, b"1_" * 2600 + b"1"])
def test_huge_numbers_are_a_finding_not_a_crash(number: bytes) -> None:
    with pytest.raises(YamlProblem) as info:
        load(b"spec:\n  instances: " + number + b"\n")
    assert (info.value.rule, info.value.line, info.value.column) == ("yaml.number", 2, 14)


def test_nel_is_kept_not_read_as_a_line_break() -> None:
    # issue 11 item 10: YAML 1.1 (libyaml) folds U+0085 into a space or fails on it; keep the bytes, count lines
    # as editors do
    from bot.core import yamlfile

    doc = yamlfile.load('a: "x\u0085y"\nb: x\u0085y\nc: |\n  p\u0085q\nd\u0085e: 1\nf: \'\u0085\'\n'.encode())
    assert doc.data == {"a": "x\x85y", "b": "x\x85y", "c": "p\x85q\n", "d\x85e": 1, "f": "\x85"}
    assert doc.marks[("f",)] == (6, 4)
