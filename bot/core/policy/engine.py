"""Evaluating compiled ValidatingPolicies: rule flow (context, match, exclude, assert) and kyverno-json `scan`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.policy.compile import Message
from bot.core.policy.dialect import EMPTY_SCOPE, Evaluator, Lazy, Scope, compile_jp
from bot.core.policy.gofmt import go_sprint
from bot.core.policy.model import (
    STATUS_ERROR,
    STATUS_FAIL,
    STATUS_PASS,
    EvalError,
    RuleResult,
    TreeAbort,
    Violation,
)
from bot.core.policy.tree import Node, Program, evaluate_tree


@dataclass
class ContextEntry:
    name: str
    path: str  # spec.rules[i].context[j]
    handler: Program


@dataclass
class Clause:
    """A match or exclude: `any` short-circuits on the first passing tree (and then `all` is ignored)."""

    any: list[Node]
    all: list[Node]

    def holds(self, resource: Any, scope: Scope, ev: Evaluator) -> bool:
        failed = False
        for tree in self.any:
            if not evaluate_tree(tree, resource, scope, ev):
                return True
            failed = True
        for tree in self.all:  # kyverno-json evaluates `all` even after `any` failed (errors still count)
            if evaluate_tree(tree, resource, scope, ev):
                failed = True
        return not failed


@dataclass
class Assertion:
    check: str  # spec.rules[i].assert.all[j]
    tree: Node
    message: Message | None

    def run(self, resource: Any, scope: Scope, ev: Evaluator) -> Violation | None:
        errs = evaluate_tree(self.tree, resource, scope, ev)
        if not errs:
            return None
        text = self.message.render(resource, ev, scope) if self.message else None
        return Violation(self.check, text, tuple(errs))


@dataclass
class Rule:
    """A compiled rule. `error` is set when kyverno-json would fail to compile it (status `error`)."""

    name: str
    index: int
    raw: dict[str, Any]
    context: list[ContextEntry] = field(default_factory=list)
    identifier: Program | None = None
    match: Clause | None = None
    exclude: Clause | None = None
    assert_any: list[Assertion] = field(default_factory=list)
    assert_all: list[Assertion] = field(default_factory=list)
    error: str | None = None

    def bind_context(self, resource: Any, scope: Scope, ev: Evaluator) -> Scope:
        for entry in self.context:
            scope = scope.bind(entry.name, Lazy(_context_thunk(entry, resource, scope, ev)))
        return scope

    def identify(self, resource: Any, scope: Scope, ev: Evaluator) -> str | None:
        if self.identifier is None:
            return None
        try:
            text = go_sprint(self.identifier(resource, ev, scope))
        except EvalError as exc:
            text = f"(error: {exc})"
        return text or None

    def asserts(self, resource: Any, scope: Scope, ev: Evaluator) -> list[Violation]:
        if self.assert_any:
            fails: list[Violation] = []
            for assertion in self.assert_any:
                violation = assertion.run(resource, scope, ev)
                if violation is None:
                    fails = []
                    break
                fails.append(violation)
            if fails:
                return fails
        return [v for a in self.assert_all if (v := a.run(resource, scope, ev)) is not None]


def _context_thunk(entry: ContextEntry, resource: Any, scope: Scope, ev: Evaluator) -> Any:
    def thunk() -> Any:
        try:
            return entry.handler(resource, ev, scope)
        except EvalError as exc:
            raise EvalError(f"{entry.path}.variable: Internal error: {exc}") from None

    return thunk


class Policy:
    """A loaded `json.kyverno.io/v1alpha1` ValidatingPolicy with its rules compiled."""

    def __init__(self, name: str, source: str, raw: dict[str, Any], rules: list[Rule]) -> None:
        meta = raw.get("metadata") or {}
        self.name = name
        self.source = source
        self.raw = raw
        self.rules = rules
        self.annotations: dict[str, str] = dict(meta.get("annotations") or {})
        self.labels: dict[str, str] = dict(meta.get("labels") or {})

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, source={self.source!r}, rules={[r.name for r in self.rules]!r})"

    def evaluate(self, payload: Any, bindings: Mapping[str, Any] | None = None, *,
                 resource: int = 0) -> list[RuleResult]:
        """Run every rule on one resource; only rules that applied (match held, exclude did not) report."""
        base = Scope(mapping=bindings) if bindings else EMPTY_SCOPE
        base = base.bind("payload", payload).bind("policy", self.raw)
        results: list[RuleResult] = []
        for rule in self.rules:
            result = self._run(rule, payload, base, resource)
            if result is not None:
                results.append(result)
        return results

    def _run(self, rule: Rule, payload: Any, base: Scope, index: int) -> RuleResult | None:
        if rule.error is not None:
            return RuleResult(self.name, rule.name, index, None, STATUS_ERROR, (), rule.error)
        ev = Evaluator()
        scope = rule.bind_context(payload, base.bind("rule", rule.raw), ev)
        try:
            if rule.match is not None and not rule.match.holds(payload, scope, ev):
                return None
            if rule.exclude is not None and rule.exclude.holds(payload, scope, ev):
                return None
            violations = rule.asserts(payload, scope, ev)
        except (TreeAbort, EvalError) as exc:
            return self._error(rule, payload, scope, index, str(exc))
        except RecursionError:
            return self._error(rule, payload, scope, index, "value or expression nested too deeply")
        except Exception as exc:  # never let one rule take the bot down
            return self._error(rule, payload, scope, index, f"internal error: {type(exc).__name__}: {exc}")
        status = STATUS_FAIL if violations else STATUS_PASS
        return RuleResult(self.name, rule.name, index, self._identify(rule, payload, scope), status,
                          tuple(violations), None)

    def _identify(self, rule: Rule, payload: Any, scope: Scope) -> str | None:
        try:
            return rule.identify(payload, scope, Evaluator())
        except Exception as exc:  # the identifier is informative only
            return f"(error: {exc})"

    def _error(self, rule: Rule, payload: Any, scope: Scope, index: int, message: str) -> RuleResult:
        return RuleResult(self.name, rule.name, index, self._identify(rule, payload, scope), STATUS_ERROR, (),
                          message)


class ScanError(ValueError):
    """kyverno-json `scan` would exit 1: null payload, or a pre-processor failed or gave null."""


def preprocess_payload(payload: Any, expressions: Sequence[str]) -> Any:
    if payload is None:
        raise ScanError("payload is `null`")
    for expression in expressions:
        try:
            payload = compile_jp(expression)(payload, Evaluator(), EMPTY_SCOPE)
        except EvalError as exc:
            raise ScanError(f"pre-processor {expression!r} failed: {exc}") from None
        if payload is None:
            raise ScanError(f"prepocessor resulted in `null` payload ({expression})")
    return payload


def resources_of(payload: Any) -> list[Any]:
    return payload if isinstance(payload, list) else [payload]


def scan_resources(payload: Any, preprocess: Sequence[str] = ()) -> list[Any]:
    """The resources `scan` evaluates: the pre-processed payload, split when it is a list."""
    return resources_of(preprocess_payload(payload, preprocess))


def scan(policies: Sequence[Policy], payload: Any, *, preprocess: Sequence[str] = (),
         bindings: Mapping[str, Any] | None = None) -> list[RuleResult]:
    """kyverno-json scan: pre-process, split a list into resources, run every policy on every resource."""
    results: list[RuleResult] = []
    for index, resource in enumerate(scan_resources(payload, preprocess)):
        for policy in policies:
            results.extend(policy.evaluate(resource, bindings, resource=index))
    return results
