"""Loading ValidatingPolicy files: strict schema validation with line/column, then compiling every rule."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.core.policy.compile import LiteralProgram, LoadProblem, RuleCompiler
from bot.core.policy.dialect import compile_jp
from bot.core.policy.engine import Assertion, Clause, ContextEntry, Policy, Rule
from bot.core.policy.keys import COMPILER_JP
from bot.core.policy.model import EvalError, PolicyLoadError
from bot.core.policy.schema import POLICY, fields, validate
from bot.core.policy.yamlsafe import Converter, YamlProblem, compose, mark_of

API_VERSION = "json.kyverno.io/v1alpha1"
KIND = "ValidatingPolicy"
SUFFIXES = (".yaml", ".yml", ".json")


def load_policies(text: str | bytes, source: str) -> list[Policy]:
    """Every ValidatingPolicy document of one file (an empty file gives none); raises PolicyLoadError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyLoadError(source, 1, 1, f"not UTF-8 text: {exc.reason}") from None
    try:
        documents = compose(text)
    except YamlProblem as exc:
        raise PolicyLoadError(source, exc.line + 1, exc.column + 1, exc.message) from None
    return [_load_document(doc, source) for doc in documents
            if not (isinstance(doc, yaml.ScalarNode) and doc.tag == "tag:yaml.org,2002:null")]


def load_policy_paths(paths: Sequence[str | Path]) -> list[Policy]:
    """Load files and directories (recursively: *.yaml, *.yml, *.json, in sorted order)."""
    policies: list[Policy] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            files = [path]
        else:
            raise PolicyLoadError(str(path), 1, 1, "no such file or directory")
        for file in files:
            policies.extend(load_policies(file.read_bytes(), str(file)))
    return policies


def _load_document(doc: yaml.Node, source: str) -> Policy:
    top: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    try:
        if not isinstance(doc, yaml.MappingNode):
            raise LoadProblem("a policy document must be a mapping", doc)
        top = fields(doc)
        return _build(doc, top, source)
    except LoadProblem as exc:
        raise PolicyLoadError(source, *mark_of(exc.node), exc.message, exc.rule) from None
    except YamlProblem as exc:
        raise PolicyLoadError(source, exc.line + 1, exc.column + 1, exc.message, _rule_at(top, exc.line)) from None


def _build(doc: yaml.MappingNode, top: dict[str, tuple[yaml.Node, yaml.Node]], source: str) -> Policy:
    conv = Converter()
    api, kind = (_text(conv, top.get(k)) for k in ("apiVersion", "kind"))
    if api != API_VERSION or kind != KIND:
        where = top.get("kind", top.get("apiVersion", (doc, doc)))[1]
        raise LoadProblem(f"policy type not supported: {api or '?'}, Kind={kind or '?'} "
                          f"(expected apiVersion {API_VERSION}, kind {KIND})", where)
    validate(doc, POLICY, "")
    raw = conv.value(doc)
    spec = fields(top["spec"][1])
    default = raw["spec"].get("compiler") or COMPILER_JP
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, rule_node in enumerate(spec["rules"][1].value):
        rule_name = raw["spec"]["rules"][index]["name"]
        try:
            if rule_name in seen:
                raise LoadProblem(f"duplicate rule name {rule_name!r}", fields(rule_node)["name"][1])
            seen.add(rule_name)
            rules.append(_compile_rule(rule_node, raw["spec"]["rules"][index], index, conv, default))
        except LoadProblem as exc:
            exc.rule = exc.rule or rule_name
            raise
    return Policy(raw["metadata"]["name"], source, raw, rules)


def _rule_at(top: dict[str, tuple[yaml.Node, yaml.Node]], line: int) -> str | None:
    """The name of the rule whose text spans a (0-based) line, for errors found outside the rule walk."""
    rules = fields(top["spec"][1]).get("rules") if "spec" in top else None
    if rules is None or not isinstance(rules[1], yaml.SequenceNode):
        return None
    for rule in rules[1].value:
        if rule.start_mark.line <= line <= rule.end_mark.line:
            name = fields(rule).get("name")
            if name and isinstance(name[1], yaml.ScalarNode):
                return str(name[1].value)
    return None


def _text(conv: Converter, pair: tuple[yaml.Node, yaml.Node] | None) -> str:
    if pair is None or not isinstance(pair[1], yaml.ScalarNode):
        return ""
    value = conv.scalar(pair[1])
    return value if isinstance(value, str) else ""


def _compiler(raw: dict[str, Any], default: str) -> str:
    return str(raw.get("compiler") or default)


def _compile_rule(node: yaml.Node, raw: dict[str, Any], index: int, conv: Converter, default: str) -> Rule:
    parts = fields(node)
    path = f"spec.rules[{index}]"
    default = _compiler(raw, default)
    rc = RuleCompiler(conv)
    rule = Rule(raw["name"], index, raw)
    for i, entry_node in enumerate(parts["context"][1].value if raw.get("context") else ()):
        entry = fields(entry_node)
        entry_raw = raw["context"][i]
        compiler = _compiler(entry_raw, default)
        handler = (rc.scalar(entry["variable"][1], f"{path}.context[{i}].variable", compiler)
                   if "variable" in entry else LiteralProgram(None))
        rule.context.append(ContextEntry(entry_raw["name"], f"{path}.context[{i}]", handler))
    if raw.get("identifier"):
        try:
            rule.identifier = compile_jp(raw["identifier"])
        except EvalError as exc:
            raise LoadProblem(f"invalid JMESPath expression {raw['identifier']!r} in identifier: {exc}",
                              parts["identifier"][1]) from None
    for clause in ("match", "exclude"):
        if raw.get(clause) is not None:
            setattr(rule, clause, _clause(parts[clause][1], raw[clause], f"{path}.{clause}", rc, default))
    for i, fb_node in enumerate(parts["feedback"][1].value if raw.get("feedback") else ()):
        fb = fields(fb_node)
        if "value" in fb:  # compiled for validation only: `scan` never reports feedback
            rc.scalar(fb["value"][1], f"{path}.feedback[{i}].value", _compiler(raw["feedback"][i], default))
    _asserts(rule, parts["assert"][1], raw["assert"], f"{path}.assert", rc, default)
    rule.error = rc.error
    return rule


def _clause(node: yaml.Node, raw: dict[str, Any], path: str, rc: RuleCompiler, default: str) -> Clause:
    if not raw.get("any") and not raw.get("all"):
        raise LoadProblem(f"an empty {path.rsplit('.', 1)[-1]} is not valid: give `any` or `all` trees", node)
    default = _compiler(raw, default)
    parts = fields(node)
    trees = {k: [rc.tree(t, f"{path}.{k}[{i}]", default) for i, t in enumerate(parts[k][1].value)]
             for k in ("any", "all") if raw.get(k)}
    return Clause(trees.get("any", []), trees.get("all", []))


def _asserts(rule: Rule, node: yaml.Node, raw: dict[str, Any], path: str, rc: RuleCompiler, default: str) -> None:
    if not raw.get("any") and not raw.get("all"):
        raise LoadProblem("an empty assert is not valid: give `any` or `all` assertions", node)
    default = _compiler(raw, default)
    parts = fields(node)
    for kind in ("any", "all"):
        for i, item in enumerate(parts[kind][1].value if raw.get(kind) else ()):
            item_raw = raw[kind][i]
            item_fields = fields(item)
            compiler = _compiler(item_raw, default)
            tree = rc.tree(item_fields["check"][1], f"{path}.{kind}[{i}].check", compiler)
            message = rc.message(item_fields["message"][1]) if item_raw.get("message") is not None else None
            target = rule.assert_any if kind == "any" else rule.assert_all
            target.append(Assertion(f"{path}.{kind}[{i}]", tree, message))
