"""Strict, safe YAML loading of one document, keeping the line and column of every value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # the C parser is ~10x faster; the pure-Python one behaves the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Path = tuple[str | int, ...]


class YamlProblem(Exception):
    """Why a file is not an acceptable document, at a 1-based line and column."""

    def __init__(self, line: int, column: int, rule: str, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.rule, self.message = line, column, rule, message


@dataclass
class Document:
    """A loaded document: plain JSON-like data plus where each value and key stands."""

    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def mark(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Where `path` stands; for a missing path, the nearest parent that exists."""
        table = self.key_marks if key else self.marks
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.marks:
                return self.marks[p]
            p = p[:-1]
        return self.marks.get((), (1, 1))


def load(data: bytes, *, max_bytes: int = MAX_BYTES, require_mapping: bool = True) -> Document:
    """Load exactly one YAML document from bytes, or raise YamlProblem.

    Rejected: over `max_bytes`, non-UTF-8, empty, several documents, anchors, aliases, merge keys,
    tags other than YAML's core ones, duplicate keys, non-scalar keys, keys YAML reads as numbers,
    booleans or null, nesting deeper than 64 and
    (with `require_mapping`) a top level that is not a mapping. Timestamps stay strings.
    """
    if len(data) > max_bytes:
        raise YamlProblem(1, 1, "yaml.too-large",
                          f"file is {len(data):,} bytes; the limit is {max_bytes:,}. Split it or trim it.")
    text, nel = _shield_nel(_decode(data))
    doc = _compose(text, nel)
    if doc.data is None:
        raise YamlProblem(1, 1, "yaml.empty", "the file has no content; write one YAML mapping")
    if require_mapping and not isinstance(doc.data, dict):
        line, col = doc.marks[()]
        raise YamlProblem(line, col, "yaml.not-a-mapping",
                          f"the top level is a {_kind(doc.data)}; it must be a mapping (key: value)")
    return doc


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlProblem(line, col, "yaml.encoding",
                          f"byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def _shield_nel(text: str) -> tuple[str, str | None]:
    """Hide U+0085 (NEL) from the YAML 1.1 reader, which takes it for a line break and folds or rejects it.

    Each NEL becomes one private-use character that the text does not contain (so columns stay put), and
    scalars get their NEL back: the request's bytes are kept, and lines count as editors count them.
    """
    if "\x85" not in text:
        return text, None
    for code in range(0xE000, 0xF900):
        if chr(code) not in text:
            return text.replace("\x85", chr(code)), chr(code)
    pos = text.index("\x85")  # pragma: no cover - a file holding all 6,400 private-use characters
    before = text[:pos]
    raise YamlProblem(before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1, "yaml.syntax",
                      "U+0085 (NEL) cannot be read in this file; write it as \"\\x85\" in a quoted string")


def _unshield(value: str, nel: str | None) -> str:
    return value.replace(nel, "\x85") if nel is not None and nel in value else value


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), "null" if value is None else type(value).__name__)


def _where(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def _scalar(event: yaml.ScalarEvent, nel: str | None = None) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0]:
            return _unshield(event.value, nel)  # quoted or block scalar: always a string
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))
    if tag == _CORE + "str" or tag == _CORE + "timestamp":
        return _unshield(event.value, nel)
    node = yaml.ScalarNode(tag, event.value)
    if tag == _CORE + "null":
        return None
    if tag == _CORE + "bool":
        return _CONSTRUCTOR.construct_yaml_bool(node)
    if tag == _CORE + "int":
        number = _CONSTRUCTOR.construct_yaml_int(node)
        if not -(2**63) <= number < 2**64:  # Kubernetes' integers are 64-bit; bigger ones only break things
            raise ValueError("integer out of 64-bit range")
        return number
    if tag == _CORE + "float":
        return _CONSTRUCTOR.construct_yaml_float(node)
    return event.value


def _check_node_event(event: Any) -> None:
    if isinstance(event, yaml.AliasEvent):
        line, col = _where(event)
        raise YamlProblem(line, col, "yaml.alias",
                          f"alias *{event.anchor} is not allowed in Pledge files; write the value out")
    if event.anchor is not None:
        line, col = _where(event)
        raise YamlProblem(line, col, "yaml.anchor",
                          f"anchor &{event.anchor} is not allowed in Pledge files; write values out in full")
    tag = event.tag
    if tag not in (None, "!") and tag not in _ALLOWED_TAGS:
        line, col = _where(event)
        raise YamlProblem(line, col, "yaml.tag", f"tag {tag!r} is not allowed; remove it")


def _compose(text: str, nel: str | None = None) -> Document:
    doc = Document(None)
    # Each frame: [container, path, pending_key_or_None, pending_key_mark]
    stack: list[list[Any]] = []
    documents = 0
    result: Any = None
    loader = _Loader(text)
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    line, col = _where(event)
                    raise YamlProblem(line, col, "yaml.multiple-documents",
                                      "the file holds more than one YAML document; put one request per file")
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                value = stack.pop()[0]
                if not stack:
                    result = value
                continue
            _check_node_event(event)
            if stack and isinstance(stack[-1][0], dict) and stack[-1][2] is None:
                _take_key(doc, stack[-1], event, nel)
                continue
            path = _child_path(stack)
            doc.marks[path] = _where(event)
            if len(path) > MAX_DEPTH:
                line, col = _where(event)
                raise YamlProblem(line, col, "yaml.too-deep", f"nesting deeper than {MAX_DEPTH} levels")
            if isinstance(event, yaml.ScalarEvent):
                try:
                    value = _scalar(event, nel)
                except (ValueError, OverflowError):
                    line, col = _where(event)
                    why = f"the number starting {event.value[:20]!r} does not fit in 64 bits; quote it or shorten it"
                    raise YamlProblem(line, col, "yaml.number", why) from None
                if stack:
                    _attach(stack[-1], value)
                else:
                    result = value
            else:
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                if stack:
                    _attach(stack[-1], container)
                stack.append([container, path, None, None])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(line, col, "yaml.syntax", f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a position
        pos = getattr(exc, "position", 0) or 0
        before = text[:pos]
        line, col = before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1
        raise YamlProblem(line, col, "yaml.syntax", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    doc.data = result
    return doc


def _child_path(stack: list[list[Any]]) -> Path:
    if not stack:
        return ()
    container, path, key, _ = stack[-1]
    if isinstance(container, dict):
        return (*path, key)
    return (*path, len(container))


def _attach(frame: list[Any], value: Any) -> None:
    container = frame[0]
    if isinstance(container, dict):
        container[frame[2]] = value
        frame[2] = None
    else:
        container.append(value)


def _take_key(doc: Document, frame: list[Any], event: Any, nel: str | None = None) -> None:
    line, col = _where(event)
    if not isinstance(event, yaml.ScalarEvent):
        raise YamlProblem(line, col, "yaml.complex-key", "mapping keys must be plain strings")
    key = _unshield(event.value, nel)
    if key == "<<" and event.implicit[0]:
        raise YamlProblem(line, col, "yaml.merge-key", "merge keys (<<) are not allowed; write the keys out")
    tag = event.tag if event.tag not in (None, "!") else (
        _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False)) if event.implicit[0] else _CORE + "str")
    if tag not in (_CORE + "str", _CORE + "timestamp"):
        kind = tag.removeprefix(_CORE)
        raise YamlProblem(line, col, "yaml.key-not-string",
                          f"key {event.value[:40]!r} is read as {'a' if kind != 'int' else 'an'} {kind}, not a string, "
                          f"by YAML tools (Kubernetes, Flux); quote it: '{event.value[:40]}':")
    if key in frame[0]:
        first = doc.key_marks.get((*frame[1], key), (line, col))
        raise YamlProblem(line, col, "yaml.duplicate-key",
                          f"duplicate key {key!r} (first at line {first[0]}); keep one")
    frame[0][key] = None  # reserve the slot so order is kept and duplicates are seen
    frame[2] = key
    doc.key_marks[(*frame[1], key)] = (line, col)
