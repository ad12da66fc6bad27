"""The ValidatingPolicy CRD schema (v1alpha1), checked strictly on YAML nodes so errors carry positions."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from bot.core.policy.compile import LoadProblem

_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"


@dataclass(frozen=True)
class Scalar:
    tag: str  # required YAML tag ("" = any scalar)
    what: str
    values: tuple[str, ...] = ()
    max_length: int = 0


@dataclass(frozen=True)
class ListOf:
    item: object


@dataclass(frozen=True)
class MapOf:
    value: object


@dataclass(frozen=True)
class Obj:
    fields: dict[str, object]
    required: tuple[str, ...] = ()
    is_rule: bool = field(default=False)


ANY = object()
STRING = Scalar(_STR_TAG, "a string")
INTEGER = Scalar(_INT_TAG, "an integer")
COMPILER = Scalar(_STR_TAG, "one of: jp, cel", ("jp", "cel"))
ASSERTION = Obj({"compiler": COMPILER, "message": STRING, "check": ANY}, ("check",))
MATCH = Obj({"compiler": COMPILER, "any": ListOf(ANY), "all": ListOf(ANY)})
ASSERT = Obj({"compiler": COMPILER, "any": ListOf(ASSERTION), "all": ListOf(ASSERTION)})
CONTEXT = Obj({"name": STRING, "compiler": COMPILER, "variable": ANY}, ("name",))
FEEDBACK = Obj({"name": STRING, "compiler": COMPILER, "value": ANY}, ("name",))
RULE = Obj({"name": Scalar(_STR_TAG, "a string", max_length=63), "compiler": COMPILER, "context": ListOf(CONTEXT),
            "match": MATCH, "exclude": MATCH, "identifier": STRING, "feedback": ListOf(FEEDBACK),
            "assert": ASSERT}, ("name", "assert"), is_rule=True)
SPEC = Obj({"compiler": COMPILER, "rules": ListOf(RULE)}, ("rules",))
METADATA = Obj({"name": STRING, "generateName": STRING, "namespace": STRING, "selfLink": STRING, "uid": STRING,
                "resourceVersion": STRING, "generation": INTEGER, "creationTimestamp": ANY,
                "deletionTimestamp": ANY, "deletionGracePeriodSeconds": INTEGER, "labels": MapOf(STRING),
                "annotations": MapOf(STRING), "ownerReferences": ListOf(ANY), "finalizers": ListOf(STRING),
                "managedFields": ListOf(ANY)}, ("name",))
POLICY = Obj({"apiVersion": STRING, "kind": STRING, "metadata": METADATA, "spec": SPEC}, ("metadata", "spec"))


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def fields(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The keys of a mapping node (merge keys applied), refusing duplicates."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    if any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
        yaml.SafeLoader("").flatten_mapping(node)
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
        if name in out:
            raise LoadProblem(f"duplicate key {name!r}", key)
        out[name] = (key, value)
    return out


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _rule_name(node: yaml.Node) -> str | None:
    name = fields(node).get("name")
    if name and isinstance(name[1], yaml.ScalarNode) and name[1].tag == _STR_TAG:
        return str(name[1].value)
    return None


def validate(node: yaml.Node, spec: object, path: str, rule: str | None = None) -> None:
    """Raise LoadProblem at the first node that does not fit `spec` (unknown fields included)."""
    if spec is ANY:
        return
    where = path or "document"
    if isinstance(spec, Scalar):
        if not isinstance(node, yaml.ScalarNode) or (spec.tag and node.tag != spec.tag):
            raise LoadProblem(f"{where}: must be {spec.what}", node, rule)
        if spec.values and node.value not in spec.values:
            raise LoadProblem(f"{where}: must be {spec.what}, not {node.value!r}", node, rule)
        if spec.max_length and len(node.value) > spec.max_length:
            raise LoadProblem(f"{where}: must have at most {spec.max_length} characters", node, rule)
    elif isinstance(spec, ListOf):
        if not isinstance(node, yaml.SequenceNode):
            raise LoadProblem(f"{where}: must be a list", node, rule)
        for i, item in enumerate(node.value):
            item_rule = _rule_name(item) if isinstance(spec.item, Obj) and spec.item.is_rule else rule
            validate(item, spec.item, f"{path}[{i}]", item_rule)
    elif isinstance(spec, MapOf):
        if not isinstance(node, yaml.MappingNode):
            raise LoadProblem(f"{where}: must be a map", node, rule)
        for key, (_, value) in fields(node).items():
            validate(value, spec.value, _child(path, key), rule)
    elif isinstance(spec, Obj):
        if not isinstance(node, yaml.MappingNode):
            raise LoadProblem(f"{where}: must be an object", node, rule)
        present = fields(node)
        for key, (key_node, _) in present.items():
            if key not in spec.fields:
                raise LoadProblem(f'{where}: unknown field "{key}"', key_node, rule)
        for key in spec.required:
            if key not in present or _is_null(present[key][1]):
                raise LoadProblem(f"{_child(path, key)}: required field is missing", present.get(key, (node,))[0],
                                  rule)
        for key, (_, value) in present.items():
            if not _is_null(value):
                validate(value, spec.fields[key], _child(path, key), rule)
