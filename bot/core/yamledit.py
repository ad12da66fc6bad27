"""Rewrite a block-style YAML document as new data, copying the source text of every entry that did not change.

The fast engine of bot.core.migrate: comments, key order, quoting and spacing survive byte for byte wherever
the data did not change, and a changed scalar keeps its line, its quoting and its trailing comment. It
understands block mappings along the edited paths; anything else (a change inside a flow collection or a
block scalar, a complex key, tabs, CRLF) raises Unsupported, and the caller uses ruamel.yaml instead.
The caller also checks that the result loads as exactly the new data.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.core.migrations import same

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str, ...]


class Unsupported(Exception):
    """This document (or this change) is outside what the text editor handles."""


@dataclass
class _Node:
    kind: str  # scalar | map | seq
    flow: bool
    style: str | None
    start: tuple[int, int]  # 0-based line, column
    end: tuple[int, int]
    last: int  # last line holding the node's text
    entries: dict[str, _Entry] = field(default_factory=dict)  # block mappings only


@dataclass
class _Entry:
    key: str
    line: int
    col: int
    key_end: int
    value: _Node
    first: int = 0  # first line of the entry: its leading comment lines
    last: int = 0


def _marks(event: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    return (event.start_mark.line, event.start_mark.column), (event.end_mark.line, event.end_mark.column)


def _parse(events: _Peekable) -> _Node:
    event = next(events)
    start, end = _marks(event)
    if isinstance(event, yaml.ScalarEvent):
        last = end[0] - 1 if end[1] == 0 and end[0] > start[0] else end[0]
        return _Node("scalar", False, event.style or None, start, end, last)
    if isinstance(event, yaml.SequenceStartEvent):
        node = _Node("seq", bool(event.flow_style), None, start, end, start[0])
        while not isinstance(_peek(events), yaml.SequenceEndEvent):
            node.last = max(node.last, _parse(events).last)
        stop = next(events)
        if node.flow:
            node.end, node.last = _marks(stop)[1], stop.end_mark.line
        return node
    if isinstance(event, yaml.MappingStartEvent):
        node = _Node("map", bool(event.flow_style), None, start, end, start[0])
        while not isinstance(_peek(events), yaml.MappingEndEvent):
            key = next(events)
            if not isinstance(key, yaml.ScalarEvent):
                raise Unsupported("a key that is not a scalar")
            (line, col), (end_line, end_col) = _marks(key)
            if line != end_line:
                raise Unsupported("a key over several lines")
            value = _parse(events)
            entry = _Entry(key.value, line, col, end_col, value)
            entry.last = max(entry.line, value.last)
            node.entries[key.value] = entry
            node.last = max(node.last, entry.last)
        stop = next(events)
        if node.flow:
            node.end, node.last = _marks(stop)[1], stop.end_mark.line
        return node
    raise Unsupported(f"{type(event).__name__} in the document")


class _Peekable:
    def __init__(self, events: Iterator[Any]) -> None:
        self.events: Iterator[Any] = events
        self.head: Any = None

    def __iter__(self) -> _Peekable:
        return self

    def __next__(self) -> Any:
        if self.head is not None:
            head, self.head = self.head, None
            return head
        return next(self.events)


def _peek(events: _Peekable) -> Any:
    if events.head is None:
        events.head = next(events.events)
    return events.head


def _analyse(text: str, lines: list[str]) -> _Node:
    events = _Peekable(iter(yaml.parse(text, Loader=_Loader)))
    for expected in (yaml.StreamStartEvent, yaml.DocumentStartEvent):
        if not isinstance(next(events), expected):
            raise Unsupported("not one document")
    root = _parse(events)
    if root.kind != "map" or root.flow or not root.entries:
        raise Unsupported("the top level is not a block mapping")
    _leading(root, root.start[0], lines)
    return root


def _leading(node: _Node, after: int, lines: list[str]) -> None:
    """Give each entry of a block mapping the comment and blank lines just above it."""
    boundary = after - 1
    for entry in node.entries.values():
        between = lines[boundary + 1: entry.line]
        if any(s.strip() and not s.lstrip().startswith("#") for s in between):
            raise Unsupported("text between entries that is not a comment")
        entry.first = boundary + 1
        boundary = entry.last
        if entry.value.kind == "map" and not entry.value.flow:
            if not entry.value.entries or entry.value.start[0] == entry.line:
                raise Unsupported("a block mapping that starts on its key's line")
            _leading(entry.value, entry.line + 1, lines)


# ------------------------------------------------------------------------------------------------ emitting

def scalar_text(value: Any, style: str | None = None) -> str:
    """A scalar as YAML text: in the given quoting style when it can be, plain when safe, else JSON-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if not isinstance(value, str):
        raise Unsupported(f"a {type(value).__name__} value")
    if style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style is None and _plain_ok(value):
        return value
    return json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=4096)
def _plain_ok(value: str) -> bool:
    if not value or value != value.strip() or "\n" in value or " #" in value or value.startswith("#"):
        return False
    try:
        return yaml.load(f"k: {value}\n", Loader=_Loader) == {"k": value}
    except yaml.YAMLError:
        return False


def _shift(line: str, by: int) -> str:
    if by >= 0 or not line.strip():
        return " " * by + line if line.strip() else line
    if line[:-by].strip():
        raise Unsupported("a line less indented than its entry")
    return line[-by:]


class _Emitter:
    def __init__(self, text: str, source: Any, resolve: Callable[[Path], Path | None]) -> None:
        if "\t" in text or "\r" in text:
            raise Unsupported("tabs or carriage returns")
        self.lines = text.split("\n")
        self.root = _analyse(text, self.lines)
        self.source, self.resolve = source, resolve
        self.index: dict[Path, _Entry] = {}
        self._index(self.root, ())
        self.unit = self._unit(self.root) or 2
        self.out: list[str] = []

    def _index(self, node: _Node, path: Path) -> None:
        for key, entry in node.entries.items():
            self.index[(*path, key)] = entry
            if entry.value.kind == "map" and not entry.value.flow:
                self._index(entry.value, (*path, key))

    def _unit(self, node: _Node) -> int:
        for entry in node.entries.values():
            children = entry.value.entries
            if children:
                return min(e.col for e in children.values()) - entry.col
        return 0

    def run(self, data: Mapping[str, Any]) -> str:
        first = next(iter(self.root.entries.values()))
        last = list(self.root.entries.values())[-1]
        self.out = self.lines[: first.line]  # what precedes the first key (the modeline, ---) stays as it is
        self._map(data, (), first.col)
        self.out += self.lines[last.last + 1:]
        return "\n".join(self.out)

    def _map(self, data: Mapping[str, Any], path: Path, indent: int) -> None:
        for key, value in data.items():
            final = (*path, key)
            origin = self.resolve(final)
            entry = self.index.get(origin) if origin is not None else None
            if entry is None:
                self._fresh(key, value, indent, final)
                continue
            shift = indent - entry.col
            before = _get(self.source, origin)  # type: ignore[arg-type]
            lead = [_shift(s, shift) for s in self.lines[entry.first: entry.line]]
            if same(value, before):
                block = self.lines[entry.line: entry.last + 1]
                block[0] = self._rekey(block[0], entry, key)
                self.out += lead + [_shift(s, shift) for s in block]
            elif isinstance(value, Mapping) and entry.value.kind == "map" and not entry.value.flow:
                self.out += [*lead, _shift(self._rekey(self.lines[entry.line], entry, key), shift)]
                child = min(e.col for e in entry.value.entries.values())
                self._map(value, final, child + shift)
            elif isinstance(value, Mapping) and entry.value.kind == "map" and entry.value.flow \
                    and not entry.value.entries and entry.value.start[0] == entry.value.end[0] == entry.line:
                line = self.lines[entry.line]  # `key: {}` that now holds entries: `key:` and a block below
                (_, start), (_, end) = entry.value.start, entry.value.end
                line = (line[:start].rstrip() + " " + line[end:].lstrip()).rstrip()
                self.out += [*lead, _shift(self._rekey(line, entry, key), shift)]
                self._map(value, final, indent + self.unit)
            elif not isinstance(value, (Mapping, list)) and _one_line_scalar(entry):
                line = self.lines[entry.line]
                (_, start), (_, end) = entry.value.start, entry.value.end
                line = line[:start] + scalar_text(value, entry.value.style) + line[end:]
                self.out += [*lead, _shift(self._rekey(line, entry, key), shift)]
            else:
                raise Unsupported(f"a change of {'.'.join(final)} the text editor cannot make")

    def _rekey(self, line: str, entry: _Entry, key: str) -> str:
        if key == entry.key:
            return line
        return line[: entry.col] + scalar_text(key) + line[entry.key_end:]

    def _fresh(self, key: str, value: Any, indent: int, path: Path) -> None:
        """A new entry; inside a new mapping, entries that came from the source are still copied."""
        pad = " " * indent
        if isinstance(value, Mapping) and value:
            self.out.append(f"{pad}{scalar_text(key)}:")
            self._map(value, path, indent + self.unit)
        elif isinstance(value, list) and value:
            self.out.append(f"{pad}{scalar_text(key)}:")
            for item in value:
                if isinstance(item, (Mapping, list)):
                    raise Unsupported("a new list of collections")
                self.out.append(f"{pad}{' ' * self.unit}- {scalar_text(item)}")
        else:
            text = "{}" if isinstance(value, Mapping) else "[]" if isinstance(value, list) else scalar_text(value)
            self.out.append(f"{pad}{scalar_text(key)}: {text}")


def _one_line_scalar(entry: _Entry) -> bool:
    """A plain or quoted scalar on its key's line: it can be replaced in place."""
    node = entry.value
    return node.kind == "scalar" and node.style in (None, "'", '"') and node.start[0] == node.end[0] == entry.line


def _get(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


def rewrite(text: str, source: Mapping[str, Any], data: Mapping[str, Any],
            resolve: Callable[[Path], Path | None]) -> str:
    """`text` (whose data is `source`) rewritten to hold `data`; `resolve(path)` says where an entry of `data`
    came from in `source` (None: it is new). Raises Unsupported when the text editor cannot do it."""
    try:
        return _Emitter(text, source, resolve).run(data)
    except (yaml.YAMLError, StopIteration, KeyError, TypeError) as exc:
        raise Unsupported(f"{type(exc).__name__}: {exc}") from None
