"""Loading: strict validation, and load errors that name the file, line, column and rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.core.policy import HAVE_CEL, PolicyLoadError, load_policies, load_policy_paths
from tests.policy.policy_helpers import doc

HEAD = "apiVersion: json.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata:\n  name: p\n"


def _error(text: str, source: str = "pols/bad.yaml") -> PolicyLoadError:
    with pytest.raises(PolicyLoadError) as info:
        load_policies(textwrap.dedent(text), source)
    return info.value


def _rule(body: str) -> str:
    """A policy whose single rule `r1` is on line 7; the given body is indented below it, from line 8."""
    return HEAD + "spec:\n  rules:\n  - name: r1\n" + textwrap.indent(textwrap.dedent(body), "    ")


def test_error_string_format() -> None:
    err = PolicyLoadError("a.yaml", 3, 5, "boom", "r")
    assert str(err) == "a.yaml:3:5: rule r: boom"
    assert str(PolicyLoadError("a.yaml", 1, 1, "boom")) == "a.yaml:1:1: boom"
    assert (err.path, err.line, err.column, err.rule, err.message) == ("a.yaml", 3, 5, "r", "boom")


def test_empty_files_give_no_policies() -> None:
    assert load_policies("", "e.yaml") == []
    assert load_policies(b"# only a comment\n", "e.yaml") == []
    assert load_policies("---\n---\n", "e.yaml") == []


def test_multiple_documents_and_policy_attributes() -> None:
    text = doc([], name="one") + "---\n" + textwrap.dedent("""\
        apiVersion: json.kyverno.io/v1alpha1
        kind: ValidatingPolicy
        metadata:
          name: two
          labels: {team: a}
          annotations: {pledge.dev/severity: warning}
        spec:
          rules: []
        """)
    one, two = load_policies(text, "p.yaml")
    assert (one.name, two.name, two.source) == ("one", "two", "p.yaml")
    assert two.labels == {"team": "a"}
    assert two.annotations == {"pledge.dev/severity": "warning"}
    assert two.rules == []


def test_wrong_kind_is_not_supported() -> None:
    err = _error("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert "policy type not supported" in err.message
    assert (err.path, err.line, err.column, err.rule) == ("pols/bad.yaml", 2, 7, None)
    assert "policy type not supported" in _error("apiVersion: json.kyverno.io/v1\nkind: ValidatingPolicy\n").message
    assert "policy type not supported" in _error("metadata: {name: x}\n").message


def test_missing_spec_rules_and_rule_name() -> None:
    assert _error(HEAD).message == "spec: required field is missing"
    assert _error(HEAD + "spec: {}\n").message == "spec.rules: required field is missing"
    err = _error(HEAD + "spec:\n  rules:\n  - assert: {all: [{check: {}}]}\n")
    assert err.message == "spec.rules[0].name: required field is missing"
    assert err.line == 7
    err = _error(_rule("match: {any: [{}]}\n"))
    assert (err.message, err.rule) == ("spec.rules[0].assert: required field is missing", "r1")


def test_unknown_fields_anywhere_are_rejected() -> None:
    err = _error(_rule("matches:\n  any: [{kind: Pod}]\nassert: {all: [{check: {}}]}\n"))
    assert err.message == 'spec.rules[0]: unknown field "matches"'
    assert (err.line, err.column, err.rule) == (8, 5, "r1")
    err = _error(_rule("assert: {all: [{check: {}, mesage: hi}]}\n"))
    assert err.message == 'spec.rules[0].assert.all[0]: unknown field "mesage"'
    assert _error(HEAD + "  nickname: x\nspec: {rules: []}\n").message == 'metadata: unknown field "nickname"'
    assert _error(HEAD + "spec: {rules: [], extra: 1}\n").message == 'spec: unknown field "extra"'
    assert _error(HEAD + "spec: {rules: []}\nstatus: {}\n").message == 'document: unknown field "status"'


def test_types_are_checked() -> None:
    assert _error(_rule("identifier: 5\nassert: {all: [{check: {}}]}\n")).message == (
        "spec.rules[0].identifier: must be a string")
    assert _error(_rule("compiler: python\nassert: {all: [{check: {}}]}\n")).message == (
        "spec.rules[0].compiler: must be one of: jp, cel, not 'python'")
    assert _error(_rule("context: {a: 1}\nassert: {all: [{check: {}}]}\n")).message == (
        "spec.rules[0].context: must be a list")
    assert _error(HEAD.replace("name: p", "name: p\n  labels: {a: true}") + "spec: {rules: []}\n").message == (
        "metadata.labels.a: must be a string")


def test_rule_name_length_and_uniqueness() -> None:
    long_name = "x" * 64
    err = _error(HEAD + f"spec:\n  rules:\n  - name: {long_name}\n    assert: {{all: [{{check: {{}}}}]}}\n")
    assert err.message == "spec.rules[0].name: must have at most 63 characters"
    assert err.rule == long_name
    ok = HEAD + f"spec:\n  rules:\n  - name: {'x' * 63}\n    assert: {{all: [{{check: {{}}}}]}}\n"
    assert len(load_policies(ok, "ok.yaml")[0].rules) == 1
    err = _error(HEAD + "spec:\n  rules:\n  - {name: a, assert: {all: [{check: {}}]}}\n"
                 "  - {name: a, assert: {all: [{check: {}}]}}\n")
    assert (err.message, err.line, err.rule) == ("duplicate rule name 'a'", 8, "a")


def test_bad_jmespath_is_reported_where_it_is() -> None:
    err = _error(_rule("assert:\n  all:\n  - check:\n      spec:\n        (foo[): 1\n"))
    assert (err.line, err.column, err.rule) == (12, 13, "r1")
    assert err.message.startswith("invalid JMESPath expression 'foo[':")
    err = _error(_rule("assert:\n  all:\n  - check:\n      a: (b ==)\n"))
    assert (err.line, err.column) == (11, 14)
    err = _error(_rule("context:\n- name: x\n  variable: (a.)\nassert: {all: [{check: {}}]}\n"))
    assert (err.line, err.rule) == (10, "r1")
    err = _error(_rule("identifier: 'a['\nassert: {all: [{check: {}}]}\n"))
    assert "identifier" in err.message and err.line == 8
    err = _error(_rule("match: {any: [{(x y): 1}]}\nassert: {all: [{check: {}}]}\n"))
    assert err.line == 8
    err = _error(_rule("assert: {all: [{message: 'hi {{ a[ }}', check: {}}]}\n"))
    assert "in message" in err.message


def test_unknown_functions_and_arity_fail_at_load() -> None:
    err = _error(_rule("assert: {all: [{check: {(no_such_fn(@)): 1}}]}\n"))
    assert err.message.endswith("unknown function: no_such_fn()")
    assert err.rule == "r1"
    err = _error(_rule("assert: {all: [{check: {(items(@)): 1}}]}\n"))
    assert "items() takes 3 argument(s), got 1" in err.message
    err = _error(_rule("assert:\n  all:\n  - check:\n      (random('[a-z]')): 1\n"))
    assert "random() is not supported" in err.message


def test_empty_match_and_assert_fail_at_load() -> None:
    err = _error(_rule("match: {}\nassert: {all: [{check: {}}]}\n"))
    assert err.message.startswith("an empty match is not valid") and err.rule == "r1"
    assert _error(_rule("exclude: {any: []}\nassert: {all: [{check: {}}]}\n")).message.startswith(
        "an empty exclude is not valid")
    assert _error(_rule("assert: {}\n")).message.startswith("an empty assert is not valid")


def test_duplicate_keys_are_rejected() -> None:
    err = _error(_rule("assert:\n  all:\n  - check:\n      a: 1\n      a: 2\n"))
    assert (err.message, err.line, err.rule) == ("duplicate key 'a'", 12, "r1")
    assert _error(HEAD + "spec: {rules: []}\nspec: {rules: []}\n").message == "duplicate key 'spec'"


def test_yaml_syntax_errors_have_positions() -> None:
    err = _error(HEAD + "spec:\n  rules: [\n")
    assert err.message.startswith("invalid YAML")
    assert err.line >= 6
    with pytest.raises(PolicyLoadError, match="not UTF-8"):
        load_policies(b"\xff\xfe", "x.yaml")


def test_only_safe_yaml_is_accepted() -> None:
    bad = "context:\n- name: x\n  variable: !!python/object/apply:os.system ['exit 3']\nassert: {all: [{check: {}}]}\n"
    err = _error(_rule(bad))
    assert err.message == "unsupported YAML type tag:yaml.org,2002:python/object/apply:os.system"
    assert (err.line, err.rule) == (10, "r1")


def test_alias_bombs_and_deep_nesting_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = HEAD + "spec:\n  rules:\n  - name: r\n    context:\n    - name: v\n      variable:\n" + "".join(
        f"        {line}\n" for line in lines) + "    assert: {all: [{check: {}}]}\n"
    assert "too large" in _error(bomb).message
    deep = HEAD + "spec:\n  rules:\n  - name: r\n    assert: {all: [{check: " + "{a: " * 300 + "1" + "}" * 300 + "}]}\n"
    assert "nested too deeply" in _error(deep).message


def test_merge_keys_and_timestamps() -> None:
    text = _rule("""\
        context:
        - name: when
          variable: 2024-01-01
        assert:
          all:
          - check: {($when): '2024-01-01'}
        """)
    pol = load_policies(text, "m.yaml")[0]
    assert pol.evaluate({})[0].status == "pass"


def test_json_policy_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.yml").write_text(doc([], name="two"))
    (tmp_path / "one.yaml").write_text(doc([], name="one"))
    (tmp_path / "three.json").write_text('{"apiVersion": "json.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",'
                                         ' "metadata": {"name": "three"}, "spec": {"rules": []}}')
    (tmp_path / "notes.txt").write_text("not a policy")
    names = [p.name for p in load_policy_paths([tmp_path])]
    assert names == ["two", "one", "three"]  # sorted paths: b/two.yml, one.yaml, three.json
    assert [p.name for p in load_policy_paths([tmp_path / "one.yaml"])] == ["one"]
    with pytest.raises(PolicyLoadError, match="no such file"):
        load_policy_paths([tmp_path / "missing.yaml"])
    (tmp_path / "bad.yaml").write_text(HEAD)
    with pytest.raises(PolicyLoadError) as info:
        load_policy_paths([tmp_path])
    assert info.value.path == str(tmp_path / "bad.yaml")


def test_compilers_cascade() -> None:
    text = _rule("""\
        compiler: cel
        context:
        - name: a
          variable: (1 + 1)
        - name: b
          compiler: jp
          variable: (`2`)
        assert:
          compiler: jp
          all:
          - check: {($a): ($b)}
          - compiler: cel
            check: {(bindings.resolve('a')): 2}
        """)
    result = load_policies(text, "c.yaml")[0].evaluate({})[0]
    if HAVE_CEL:
        assert result.status == "pass"
    else:
        assert result.status == "error"
        assert "CEL is not supported" in (result.error or "")
