"""Assertion trees: map, slice and scalar nodes with projections, foreach, bindings and k8s-style error paths."""

from __future__ import annotations

from typing import Any, Protocol

from bot.core.policy.dialect import Evaluator, Scope
from bot.core.policy.gofmt import error_body, expected_message
from bot.core.policy.matching import MatchError, match
from bot.core.policy.model import EvalError, FieldError, TreeAbort

INVALID = "FieldValueInvalid"
TYPE_INVALID = "FieldValueTypeInvalid"
REQUIRED = "FieldValueRequired"
INTERNAL = "InternalError"


class Program(Protocol):
    source: str

    def __call__(self, value: Any, ev: Evaluator, scope: Scope) -> Any: ...


class FPath:
    """A k8s field.Path element, rendered only when an error needs it; also tracks the payload location."""

    __slots__ = ("index", "parent", "step", "text")

    def __init__(self, parent: FPath | None, text: str, index: bool = False, step: str | int | None = None) -> None:
        self.parent = parent
        self.text = text
        self.index = index or text == ""  # an empty child name renders as "[]" in k8s
        self.step = step  # the concrete payload key/index this element descends into; None = a projection

    def _chain(self) -> list[FPath]:
        chain: list[FPath] = []
        node: FPath | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        return chain

    def render(self) -> str:
        out: list[str] = []
        for elem in self._chain():
            if elem.index:
                out.append(f"[{elem.text}]")
            else:
                out.append(("." if elem.parent is not None else "") + elem.text)
        return "".join(out)

    def location(self) -> tuple[str | int, ...]:
        steps: list[str | int] = []
        for elem in self._chain():
            if elem.step is None:
                break
            steps.append(elem.step)
        return tuple(steps)


def render(path: FPath | None) -> str:
    return path.render() if path is not None else ""


def field_error(type_: str, path: FPath | None, bad: Any, detail: str) -> FieldError:
    return FieldError(render(path), type_, error_body(type_, bad, detail), path.location() if path else ())


def abort(type_: str, path: FPath | None, bad: Any, detail: str) -> TreeAbort:
    return TreeAbort(render(path), type_, error_body(type_, bad, detail))


class Node(Protocol):
    def check(self, value: Any, path: FPath | None, scope: Scope, ev: Evaluator, errs: list[FieldError]) -> None: ...


class Entry:
    """One key of a map node: a plain lookup or a projection, maybe foreach, maybe bound to a name."""

    __slots__ = ("binding", "child", "foreach", "foreach_name", "key", "lookup", "program")

    def __init__(self, key: str, lookup: str, program: Program | None, foreach: bool, foreach_name: str,
                 binding: str, child: Node) -> None:
        self.key = key
        self.lookup = lookup
        self.program = program
        self.foreach = foreach
        self.foreach_name = foreach_name
        self.binding = binding
        self.child = child


class MapNode:
    """Every key must hold (conjunctive); `{}` only requires a non-null value."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    def check(self, value: Any, path: FPath | None, scope: Scope, ev: Evaluator, errs: list[FieldError]) -> None:
        if not self.entries:
            if value is None:
                errs.append(field_error(INVALID, path, None, "invalid value, must not be null"))
            return
        for e in self.entries:
            ev.tick()
            if e.program is None:
                cpath = FPath(path, e.key, step=e.lookup)
                if value is None or (isinstance(value, dict) and e.lookup not in value):
                    errs.append(field_error(REQUIRED, cpath, None, "field not found in the input object"))
                    continue
                if not isinstance(value, dict):
                    raise abort(INTERNAL, cpath, None, "projection not recognized")
                projected = value[e.lookup]
            else:
                cpath = FPath(path, e.key)
                try:
                    projected = e.program(value, ev, scope)
                except EvalError as exc:
                    raise abort(INTERNAL, cpath, None, str(exc)) from None
            sub = scope.bind(e.binding, projected) if e.binding else scope
            if not e.foreach:
                e.child.check(projected, cpath, sub, ev, errs)
            elif isinstance(projected, list):
                for i, item in enumerate(projected):
                    ev.tick()
                    inner = sub.bind(e.foreach_name, i) if e.foreach_name else sub
                    e.child.check(item, FPath(cpath, str(i), True, i), inner, ev, errs)
            elif isinstance(projected, dict):
                for k, item in projected.items():
                    ev.tick()
                    inner = sub.bind(e.foreach_name, k) if e.foreach_name else sub
                    e.child.check(item, FPath(cpath, str(k), True, k), inner, ev, errs)
            else:
                raise abort(TYPE_INVALID, cpath, projected, "expected a slice or a map")


class SliceNode:
    """The value must be a list of the same length; elements are matched by position."""

    __slots__ = ("items",)

    def __init__(self, items: list[Node]) -> None:
        self.items = items

    def check(self, value: Any, path: FPath | None, scope: Scope, ev: Evaluator, errs: list[FieldError]) -> None:
        ev.tick()
        if value is None:
            errs.append(field_error(INVALID, path, None, "value is null"))
        elif not isinstance(value, list):
            raise abort(TYPE_INVALID, path, value, "expected a slice")
        elif len(value) != len(self.items):
            errs.append(field_error(INVALID, path, value, "lengths of slices don't match"))
        else:
            for i, (item, node) in enumerate(zip(value, self.items, strict=True)):
                node.check(item, FPath(path, str(i), True, i), scope, ev, errs)


class ScalarNode:
    """A leaf: a literal, or `(expr)` evaluated against the current value, compared with `match`."""

    __slots__ = ("literal", "program")

    def __init__(self, literal: Any = None, program: Program | None = None) -> None:
        self.literal = literal
        self.program = program

    def check(self, value: Any, path: FPath | None, scope: Scope, ev: Evaluator, errs: list[FieldError]) -> None:
        ev.tick()
        expected = self.literal
        if self.program is not None:
            try:
                expected = self.program(value, ev, scope)
            except EvalError as exc:
                raise abort(INTERNAL, path, None, str(exc)) from None
        try:
            ok = match(expected, value)
        except MatchError as exc:
            raise abort(INTERNAL, path, None, str(exc)) from None
        if not ok:
            errs.append(field_error(INVALID, path, value, expected_message(expected)))


class BrokenNode:
    """Stands for a subtree that failed to compile; the rule never evaluates it (status `error`)."""

    def check(self, value: Any, path: FPath | None, scope: Scope, ev: Evaluator, errs: list[FieldError]) -> None:
        raise EvalError("the rule failed to compile")


def evaluate_tree(node: Node, value: Any, scope: Scope, ev: Evaluator) -> list[FieldError]:
    """Assert a whole tree against a resource; TreeAbort/EvalError propagate (the rule errors)."""
    errs: list[FieldError] = []
    node.check(value, None, scope, ev, errs)
    return errs
