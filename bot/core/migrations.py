"""Declarative migrations between offering versions: the file format, its loading, and what each step does.

A migration is data shipped with the successor, `schemas/<offering>/migrations/<from>-to-<to>.yaml`; no code
from the catalog ever runs. Steps (in order, each a one-key mapping; paths are dotted keys below `spec`):

  rename:  {path: spec.a.b, to: c}              the key b becomes c, in place
  move:    {path: spec.a.b, to: spec.x.y}       the value moves (parents are created, emptied ones removed)
  default: {path: spec.a.b, value: V}           set when missing
  map:     {path: spec.a.b, values: [{from: X, to: Y}], keep: [Z], to: spec.x.y, otherwise: "why, {value}"}
                                                 a value not listed refuses the request (the file stays as is)
  drop:    {path: spec.a.b, note: "why"}        removed; the note is shown to whoever upgrades

Every step may have `when: {path: P, equals: V}` or `when: {path: P, exists: true|false}` and a `note`. A step
whose path is missing does nothing (except `default`). The steps work on any mutable mapping, so the same code
runs on plain data (the meaning) and on ruamel.yaml's round-trip nodes (bot.core.migrate).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from bot.core.report import Finding, error
from bot.core.yamlfile import YamlProblem, load

Path = tuple[str, ...]
VERBS = ("rename", "move", "default", "map", "drop")
FILE = re.compile(r"^(?P<source>[a-z0-9]+)-to-(?P<target>[a-z0-9]+)\.yaml$")

_PATH = {"type": "string", "pattern": r"^spec(\.[A-Za-z_][A-Za-z0-9_-]*)+$"}
_KEY = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_-]*$"}
_TEXT = {"type": "string", "minLength": 1}
_WHEN = {"type": "object", "additionalProperties": False, "required": ["path"], "minProperties": 2,
         "maxProperties": 2, "properties": {"path": _PATH, "equals": {}, "exists": {"type": "boolean"}}}


def _verb(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": {"when": _WHEN, "note": _TEXT, **props}}


_STEP_SCHEMAS: dict[str, dict[str, Any]] = {
    "rename": _verb(["path", "to"], path=_PATH, to=_KEY),
    "move": _verb(["path", "to"], path=_PATH, to=_PATH),
    "default": _verb(["path", "value"], path=_PATH, value={}),
    "map": _verb(["path"], path=_PATH, to=_PATH, otherwise=_TEXT, keep={"type": "array"},
                 values={"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                    "required": ["from", "to"], "properties": {"from": {}, "to": {}}}}),
    "drop": _verb(["path", "note"], path=_PATH),
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["from", "to", "steps"],
    "properties": {
        "from": {"type": "string"}, "to": {"type": "string"}, "description": {"type": "string"},
        "steps": {"type": "array", "minItems": 1, "items": {
            "type": "object", "minProperties": 1, "maxProperties": 1,
            "propertyNames": {"enum": list(VERBS)},
            "properties": _STEP_SCHEMAS}},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@dataclass(frozen=True)
class Step:
    verb: str
    args: dict[str, Any]
    line: int

    @property
    def path(self) -> Path:
        return split(self.args["path"])


@dataclass(frozen=True)
class Migration:
    """One offering's steps from one version to the next."""

    offering: str
    source: str  # version stem, e.g. v1
    target: str
    steps: tuple[Step, ...]
    path: str  # the file, as shown in findings
    description: str = ""


class Refusal(Exception):
    """The migration cannot apply to this request: the file stays untouched, and this says why."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


@dataclass
class Stage:
    """What one migration did to one request: notes for people, and where entries came from (for editors)."""

    notes: list[str] = field(default_factory=list)
    moved: dict[Path, Path] = field(default_factory=dict)  # new path -> path before this migration
    consumed: set[Path] = field(default_factory=set)  # paths before this migration whose value went away

    def source_of(self, path: Path) -> Path | None:
        """Where `path` (after the migration) stood before it, or None when it is new."""
        for i in range(len(path), 0, -1):
            if path[:i] in self.moved:
                return self.moved[path[:i]] + path[i:]
        if any(path[:i] in self.consumed for i in range(1, len(path) + 1)):
            return None
        return path


def split(dotted: str) -> Path:
    return tuple(dotted.split("."))


def dotted(path: Path) -> str:
    return ".".join(path)


# ------------------------------------------------------------------------------------------------ loading

def load_migration(offering: str, file_name: str, data: bytes, shown: str,
                   findings: list[Finding]) -> Migration | None:
    """Parse and validate one migration file; problems become `catalog.migration` findings at file:line."""
    def fail(line: int, col: int, message: str) -> None:
        findings.append(error(shown, line, col, "catalog.migration", message))

    name = FILE.match(file_name)
    if name is None:
        fail(1, 1, f"a migration file is named <from>-to-<to>.yaml (e.g. v1-to-v2.yaml), not {file_name}")
        return None
    try:
        doc = load(data)
    except YamlProblem as exc:
        fail(exc.line, exc.column, exc.message)
        return None
    problems = sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path)))
    if problems:
        err = problems[0]
        line, col = doc.mark(tuple(err.absolute_path))
        fail(line, col, f"{_where(err.absolute_path)}: {_explain(err)}")
        return None
    source, target = doc.data["from"], doc.data["to"]
    if (source, target) != (name["source"], name["target"]):
        line, col = doc.mark(("from",))
        fail(line, col, f"from: {source}, to: {target} do not match the file name {file_name}")
        return None
    steps = []
    for i, item in enumerate(doc.data["steps"]):
        verb, args = next(iter(item.items()))
        steps.append(Step(verb, args, doc.mark(("steps", i))[0]))
        bad = _check_step(verb, args)
        if bad:
            line, col = doc.mark(("steps", i, verb))
            fail(line, col, f"steps[{i}].{verb}: {bad}")
            return None
    return Migration(offering, source, target, tuple(steps), shown, str(doc.data.get("description", "")))


def _where(path: Any) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "(top)"


def _explain(err: jsonschema.ValidationError) -> str:
    if "propertyNames" in err.schema_path:
        return f"unknown step {err.instance!r}; a step is one of {', '.join(VERBS)}"
    if err.validator in ("minProperties", "maxProperties") and list(err.schema_path)[:3] == ["properties", "steps",
                                                                                           "items"]:
        return f"a step is a mapping with exactly one of {', '.join(VERBS)}"
    return err.message


def _check_step(verb: str, args: dict[str, Any]) -> str | None:
    if verb == "move" and (split(args["to"])[: len(split(args["path"]))] == split(args["path"])):
        return "cannot move a key below itself"
    if verb == "map" and not args.get("values") and not args.get("keep"):
        return "map needs values (or keep)"
    return None


# ------------------------------------------------------------------------------------------------ semantics

def apply(migration: Migration, root: MutableMapping[str, Any], *,
          new_map: Callable[[], MutableMapping[str, Any]] = dict,
          restyle: Callable[[Any, Any], Any] = lambda old, new: new) -> Stage:
    """Run the steps on `root` (the whole request document) in place; raise Refusal when one cannot apply.

    `new_map` makes the mappings that moves and defaults create; `restyle(old, new)` lets a round-trip
    representation keep a replaced scalar's quoting.
    """
    stage = Stage()
    for step in migration.steps:
        args = step.args
        when = args.get("when")
        if when and not _holds(root, when):
            continue
        path = step.path
        found, value = _get(root, path)
        if step.verb == "default":
            if not found:
                _put(root, path, _convert(copy.deepcopy(args["value"]), new_map), new_map)
                _note(stage, args)
            continue
        if not found:
            continue
        if step.verb == "rename":
            parent = _get(root, path[:-1])[1]
            if args["to"] in parent:
                raise Refusal(path, f"{dotted(path)} would become {dotted((*path[:-1], args['to']))}, which is "
                                    "set already: keep one of them, then upgrade")
            _rename(parent, path[-1], args["to"])
            stage.moved[(*path[:-1], args["to"])] = path
            stage.consumed.add(path)
        elif step.verb == "move":
            _relocate(root, path, split(args["to"]), value, stage, new_map)
        elif step.verb == "map":
            new = _mapped(migration, step, value)
            new = restyle(value, new)
            if "to" in args:
                _relocate(root, path, split(args["to"]), new, stage, new_map)
            else:
                _get(root, path[:-1])[1][path[-1]] = new
        elif step.verb == "drop":
            _delete(root, path)
            stage.consumed.add(path)
        _note(stage, args)
    return stage


def _note(stage: Stage, args: dict[str, Any]) -> None:
    if args.get("note"):
        stage.notes.append(str(args["note"]))


_KINDS: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str", dict: "map", list: "seq",
                           type(None): "null"}


def _kind(value: Any) -> str:
    exact = _KINDS.get(type(value))
    if exact is not None:
        return exact
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str), ("map", Mapping),
                        ("seq", list)):
        if isinstance(value, types):
            return kind
    return "null" if value is None else type(value).__name__


def same(a: Any, b: Any) -> bool:
    """Equality as YAML means it: true is not 1, 1 is not 1.0, and the order of keys counts."""
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind == "map":
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if kind == "seq":
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _mapped(migration: Migration, step: Step, value: Any) -> Any:
    for pair in step.args.get("values", []):
        if same(value, pair["from"]):
            return copy.deepcopy(pair["to"])
    if any(same(value, k) for k in step.args.get("keep", [])):
        return value
    shown = _show(value)
    why = step.args.get("otherwise") or (f"{{path}} is {{value}}, which {migration.target} has no equivalent for; "
                                         f"change it on {migration.source} first")
    raise Refusal(step.path, why.replace("{value}", shown).replace("{path}", dotted(step.path)))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _holds(root: MutableMapping[str, Any], when: dict[str, Any]) -> bool:
    found, value = _get(root, split(when["path"]))
    if "exists" in when:
        return found is bool(when["exists"])
    return found and same(value, when["equals"])


def _get(root: Any, path: Path) -> tuple[bool, Any]:
    node = root
    for key in path:
        if not isinstance(node, MutableMapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _convert(value: Any, new_map: Callable[[], MutableMapping[str, Any]]) -> Any:
    if isinstance(value, dict):
        out = new_map()
        for k, v in value.items():
            out[k] = _convert(v, new_map)
        return out
    if isinstance(value, list):
        return [_convert(v, new_map) for v in value]
    return value


def _put(root: MutableMapping[str, Any], path: Path, value: Any,
         new_map: Callable[[], MutableMapping[str, Any]], comment: Any = None) -> None:
    node: Any = root
    for i, key in enumerate(path[:-1]):
        if key not in node:
            node[key] = new_map()
        node = node[key]
        if not isinstance(node, MutableMapping):
            raise Refusal(path[: i + 1], f"{dotted(path[: i + 1])} is not a mapping, so {dotted(path)} cannot be set")
    node[path[-1]] = value
    if comment is not None:
        node.ca.items[path[-1]] = comment


def _take(root: MutableMapping[str, Any], path: Path) -> Any:
    """Remove the entry at path; return its round-trip comment (None for plain data)."""
    parent = _get(root, path[:-1])[1]
    comment = parent.ca.items.pop(path[-1], None) if hasattr(parent, "ca") else None
    del parent[path[-1]]
    return comment


def _prune(root: MutableMapping[str, Any], path: Path) -> None:
    """Remove mappings below spec that `path`'s removal left empty, innermost first."""
    for i in range(len(path) - 1, 1, -1):
        found, node = _get(root, path[:i])
        if not (found and isinstance(node, MutableMapping) and not node):
            return
        _take(root, path[:i])


def _delete(root: MutableMapping[str, Any], path: Path) -> None:
    _take(root, path)
    _prune(root, path)


def _relocate(root: MutableMapping[str, Any], source: Path, target: Path, value: Any, stage: Stage,
              new_map: Callable[[], MutableMapping[str, Any]]) -> None:
    if _get(root, target)[0]:
        raise Refusal(source, f"{dotted(source)} moves to {dotted(target)}, which is set already: keep one of "
                              "them, then upgrade")
    if target[:-1] == source[:-1]:  # within one mapping: the key is renamed where it stands
        parent = _get(root, source[:-1])[1]
        parent[source[-1]] = value
        _rename(parent, source[-1], target[-1])
    else:
        comment = _take(root, source)
        _put(root, target, value, new_map, comment)
        _prune(root, source)
    stage.moved[target] = source
    stage.consumed.add(source)


def _rename(mapping: MutableMapping[str, Any], old: str, new: str) -> None:
    """Rename a key where it stands (key order survives)."""
    if hasattr(mapping, "insert"):  # ruamel's CommentedMap
        node: Any = mapping
        position = list(node).index(old)
        comment = node.ca.items.pop(old, None)
        node.insert(position, new, node.pop(old))
        if comment is not None:
            node.ca.items[new] = comment
        return
    items = [(new if k == old else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)
