"""Result types, errors and resource limits shared by the policy engine modules."""

from __future__ import annotations

from dataclasses import dataclass

# Runaway guards (see docs/policies.md, "Limits").
MAX_STRING = 1 << 20  # characters in a string built by a function (pad, replace, join, to_string, ...)
MAX_LIST = 200_000  # elements in a list built by a function (split, items, zip, ...)
MAX_DEPTH = 256  # nesting of policy trees, YAML documents and values walked recursively
MAX_STEPS = 1_000_000  # expression AST visits + tree node visits in one rule evaluation
MAX_YAML_NODES = 1_000_000  # nodes of a YAML document once aliases are expanded

STATUS_PASS = "pass"
STATUS_FAIL = "fail"
STATUS_ERROR = "error"


class PolicyLoadError(Exception):
    """A policy file could not be loaded: names the file, 1-based line and column, and the rule."""

    def __init__(self, path: str, line: int, column: int, message: str, rule: str | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.rule = rule
        self.message = message
        super().__init__(path, line, column, message, rule)

    def __str__(self) -> str:
        prefix = f"rule {self.rule}: " if self.rule else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


class EvalError(Exception):
    """A runtime error inside an expression or a function; the rule's status becomes `error`."""


class TreeAbort(Exception):
    """A k8s-style field error that aborts an assertion tree (kyverno-json returns it as the rule error)."""

    def __init__(self, field: str, type_: str, body: str) -> None:
        self.field = field
        self.type = type_
        self.body = body
        super().__init__(f"{field}: {body}")


@dataclass(frozen=True)
class FieldError:
    """One failed leaf of an assertion tree (a k8s `field.Error`)."""

    path: str
    type: str
    detail: str
    location: tuple[str | int, ...] | None = None


@dataclass(frozen=True)
class Violation:
    """A failing assertion: its position in the policy, its rendered message and the tree errors."""

    check: str
    message: str | None
    errors: tuple[FieldError, ...]


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule on one resource (only emitted when the rule applied)."""

    policy: str
    rule: str
    resource: int
    identifier: str | None
    status: str
    violations: tuple[Violation, ...] = ()
    error: str | None = None
