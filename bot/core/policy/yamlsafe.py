"""Safe YAML for policies and payloads: safe loader only, JSON-like values, bounded aliases and nesting."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml

from bot.core.policy.model import MAX_DEPTH, MAX_YAML_NODES, EvalError

_BASE: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class Loader(_BASE):
    """SafeLoader that keeps timestamps as strings (as sigs.k8s.io/yaml's YAML-to-JSON does)."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


# go-yaml (and so kyverno-json) reads `1e3` as a number; PyYAML's YAML 1.1 float pattern needs a dot.
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


class YamlProblem(Exception):
    """A YAML document that is not valid or not JSON-like; carries the 0-based mark of the culprit."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def mark_of(node: yaml.Node | None) -> tuple[int, int]:
    """1-based (line, column) of a node."""
    if node is None or node.start_mark is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def compose(text: str | bytes) -> list[yaml.Node]:
    """All non-empty documents of a stream, as nodes (with marks)."""
    try:
        return [n for n in yaml.compose_all(text, Loader=Loader) if n is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(f"invalid YAML: {exc.problem or exc.context}", mark.line if mark else 0,
                          mark.column if mark else 0) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem("invalid YAML: document nested too deeply") from None


def key_text(value: Any) -> str:
    """How YAML-to-JSON turns a mapping key into a string."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Converter:
    """Turns composed nodes into JSON-like values, bounding depth and the alias-expanded size."""

    def __init__(self, strict_keys: bool = True) -> None:
        self.loader = Loader("")
        self.strict_keys = strict_keys
        self.count = 0

    def value(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_YAML_NODES:
            raise YamlProblem("YAML document too large once aliases are expanded", node.start_mark.line,
                              node.start_mark.column)
        if depth > MAX_DEPTH:
            raise YamlProblem("YAML document nested too deeply", node.start_mark.line, node.start_mark.column)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise YamlProblem(f"unsupported YAML type {node.tag}", node.start_mark.line, node.start_mark.column)
            return self.mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise YamlProblem(f"unsupported YAML type {node.tag}", node.start_mark.line, node.start_mark.column)
            return [self.value(item, depth + 1) for item in node.value]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise YamlProblem(f"invalid YAML value: {exc}", node.start_mark.line, node.start_mark.column) from None
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise YamlProblem("NaN and infinite numbers are not valid JSON", node.start_mark.line,
                                  node.start_mark.column)
            return value
        raise YamlProblem(f"unsupported YAML type {node.tag}", node.start_mark.line, node.start_mark.column)

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        if any(k.tag == _MERGE for k, _ in node.value):
            try:
                self.loader.flatten_mapping(node)
            except yaml.YAMLError as exc:
                raise YamlProblem(f"invalid merge key: {exc}", node.start_mark.line, node.start_mark.column) from None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem("mapping keys must be scalars", key_node.start_mark.line, key_node.start_mark.column)
            key = key_text(self.scalar(key_node))
            if key in out and self.strict_keys:
                raise YamlProblem(f"duplicate key {key!r}", key_node.start_mark.line, key_node.start_mark.column)
            out[key] = self.value(value_node, depth + 1)
        return out


def to_value(node: yaml.Node, strict_keys: bool = True) -> Any:
    return Converter(strict_keys).value(node)


def parse_yaml_value(text: str) -> Any:
    """Kyverno's parse_yaml: the first document as a JSON-like value (EvalError on failure)."""
    try:
        nodes = compose(text)
        return to_value(nodes[0], strict_keys=False) if nodes else None
    except YamlProblem as exc:
        raise EvalError(f"{exc.message} (line {exc.line + 1})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


def load_payload(text: str | bytes, source: str = "<payload>") -> Any:
    """kyverno-json's payload loading: JSON, else YAML where several documents become a list."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        pass
    try:
        docs = [to_value(node, strict_keys=False) for node in compose(text)]
    except YamlProblem as exc:
        raise ValueError(f"{source}:{exc.line + 1}:{exc.column + 1}: {exc.message}") from None
    if not docs:
        return None
    return docs[0] if len(docs) == 1 else docs
