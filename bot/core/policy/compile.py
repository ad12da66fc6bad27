"""Compiling policy parts from YAML nodes: assertion trees, scalar handlers, messages; every expression once."""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.core.policy.celexpr import CelUnsupported, compile_cel
from bot.core.policy.dialect import Evaluator, Scope, compile_jp
from bot.core.policy.gofmt import error_body
from bot.core.policy.keys import COMPILER_CEL, parse_key, resolve_compiler
from bot.core.policy.model import MAX_DEPTH, EvalError
from bot.core.policy.tree import BrokenNode, Entry, MapNode, Node, Program, ScalarNode, SliceNode
from bot.core.policy.yamlsafe import Converter, YamlProblem, key_text

_PLACEHOLDER = re.compile(r"{{(.*?)}}")


class LoadProblem(Exception):
    """A problem that rejects the whole file: message and the offending YAML node."""

    def __init__(self, message: str, node: yaml.Node | None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node
        self.rule = rule


def child_path(path: str, key: str) -> str:
    seg = key if key != "" else "[]"
    if not path:
        return seg
    return path + ("" if key == "" else ".") + seg


class Message:
    """An assertion message with `{{ expr }}` placeholders, rendered against the resource."""

    def __init__(self, text: str, parts: list[tuple[str, str, Program]]) -> None:
        self.text = text
        self.parts = parts

    def render(self, resource: Any, ev: Evaluator, scope: Scope) -> str:
        out = self.text
        for placeholder, statement, program in self.parts:
            try:
                result = program(resource, ev, scope)
            except EvalError as exc:
                out = out.replace(placeholder, f"ERR ({statement} - {exc})")
                continue
            if result is None:
                out = out.replace(placeholder, f"ERR ({statement} not found)")
            elif not isinstance(result, str):
                out = out.replace(placeholder, f"ERR ({statement} not a string)")
            else:
                out = out.replace(placeholder, result)
        return out


class LiteralProgram:
    """A context variable or feedback value that is a literal (maps and lists are not evaluated inside)."""

    source = ""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, value: Any, ev: Evaluator, scope: Scope) -> Any:
        return self.value


class RuleCompiler:
    """Compiles one rule's parts; syntax errors raise LoadProblem, kyverno-json's per-rule errors are recorded."""

    def __init__(self, conv: Converter) -> None:
        self.conv = conv
        self.error: str | None = None  # first per-rule compile error, as kyverno-json prints it

    def soft(self, path: str, bad: Any, detail: str) -> None:
        if self.error is None:
            self.error = f"{path}: {error_body('FieldValueInvalid', bad, detail)}"

    def value(self, node: yaml.Node) -> Any:
        try:
            return self.conv.value(node)
        except YamlProblem as exc:
            raise LoadProblem(exc.message, node) from None

    def program(self, statement: str, compiler: str, node: yaml.Node, path: str) -> Program | None:
        try:
            if compiler == COMPILER_CEL:
                return compile_cel(statement)
            return compile_jp(statement)
        except CelUnsupported as exc:
            self.soft(path, statement, str(exc))
            return None
        except EvalError as exc:
            raise LoadProblem(f"invalid {'CEL' if compiler == COMPILER_CEL else 'JMESPath'} expression "
                              f"{statement!r}: {exc}", node) from None

    def scalar(self, node: yaml.Node, path: str, default: str) -> Program | Any:
        """projection.ParseScalar: returns a Program for `(expr)`, else the literal value."""
        raw = self.value(node)
        if not isinstance(raw, str):
            return LiteralProgram(raw)
        expr = parse_key(raw)
        if expr.foreach:
            self.soft(path, raw, "foreach is not supported in scalar projections")
            return LiteralProgram(None)
        if expr.binding:
            self.soft(path, raw, "binding is not supported in scalar projections")
            return LiteralProgram(None)
        compiler = resolve_compiler(expr.compiler, default)
        if compiler is None:
            return LiteralProgram(expr.statement)
        return self.program(expr.statement, compiler, node, path) or LiteralProgram(None)

    def tree(self, node: yaml.Node, path: str, default: str, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise LoadProblem("assertion tree nested too deeply", node)
        if isinstance(node, yaml.MappingNode):
            if any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
                self.conv.loader.flatten_mapping(node)
            entries: list[Entry] = []
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_text(self.value(key_node))
                if key in seen:
                    raise LoadProblem(f"duplicate key {key!r} in assertion tree", key_node)
                seen.add(key)
                entries.append(self.entry(key, key_node, value_node, child_path(path, key), default, depth))
            return MapNode(entries)
        if isinstance(node, yaml.SequenceNode):
            return SliceNode([self.tree(item, f"{path}[{i}]", default, depth + 1)
                              for i, item in enumerate(node.value)])
        handler = self.scalar(node, path, default)
        if isinstance(handler, LiteralProgram):
            return ScalarNode(literal=handler.value)
        return ScalarNode(program=handler)

    def entry(self, key: str, key_node: yaml.Node, value_node: yaml.Node, path: str, default: str,
              depth: int) -> Entry:
        expr = parse_key(key)
        compiler = resolve_compiler(expr.compiler, default)
        program = self.program(expr.statement, compiler, key_node, path) if compiler else None
        child = self.tree(value_node, path, default, depth + 1)
        if compiler and program is None:
            child = BrokenNode()
        return Entry(key, expr.statement, program, expr.foreach, expr.foreach_name, expr.binding, child)

    def message(self, node: yaml.Node) -> Message:
        text = self.value(node)
        if not isinstance(text, str):
            raise LoadProblem("message must be a string", node)
        parts: list[tuple[str, str, Program]] = []
        for m in _PLACEHOLDER.finditer(text):
            statement = m.group(1).strip()
            try:
                parts.append((m.group(0), statement, compile_jp(statement)))
            except EvalError as exc:
                raise LoadProblem(f"invalid JMESPath expression {statement!r} in message: {exc}", node) from None
        return Message(text, parts)
