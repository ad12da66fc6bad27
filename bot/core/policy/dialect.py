"""kyverno-json's JMESPath dialect on jmespath-community: Go semantics fixes, bindings, budget, compile-once."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from jmespath import exceptions as jp_exceptions
from jmespath import parser as jp_parser
from jmespath import visitor as jp_visitor
from jmespath.scope import ScopedChainDict

from bot.core.policy.kyverno_functions import FUNCTION_TABLE, FUNCTIONS, UNSUPPORTED
from bot.core.policy.matching import is_number, json_equal
from bot.core.policy.model import MAX_STEPS, EvalError

if not hasattr(jp_visitor.TreeInterpreter, "visit_arithmetic"):  # pragma: no cover - wrong distribution
    raise ImportError("bot.core.policy needs the 'jmespath-community' distribution, not PyPI 'jmespath'")


class Lazy:
    """A context entry: evaluated on first use, then memoized (errors too)."""

    __slots__ = ("_done", "_error", "_fn", "_value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn: Callable[[], Any] | None = fn
        self._done = False
        self._value: Any = None
        self._error: str | None = None

    def get(self) -> Any:
        if not self._done:
            fn, self._fn = self._fn, None
            if fn is None:
                raise EvalError("context entry refers to itself")
            try:
                self._value = fn()
            except EvalError as exc:
                self._error = str(exc)
            self._done = True
        if self._error is not None:
            raise EvalError(self._error)
        return self._value


class Scope:
    """An immutable chain of variable bindings (names without `$`); lookups walk toward the root."""

    __slots__ = ("mapping", "name", "parent", "value")

    def __init__(self, parent: Scope | None = None, name: str = "", value: Any = None,
                 mapping: Mapping[str, Any] | None = None) -> None:
        self.parent = parent
        self.name = name
        self.value = value
        self.mapping = mapping

    def bind(self, name: str, value: Any) -> Scope:
        return Scope(self, name, value)

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if scope.mapping is not None:
                if name in scope.mapping:
                    return scope.mapping[name]
            elif scope.name == name:
                value = scope.value
                return value.get() if isinstance(value, Lazy) else value
            scope = scope.parent
        raise EvalError(f"variable not defined: ${name}")


EMPTY_SCOPE = Scope(mapping={})


class Evaluator(jp_visitor.TreeInterpreter):
    """One rule evaluation: Go's arithmetic/comparison rules, `$`-root = null, bindings, a step budget."""

    _DISPATCH: dict[str, Callable[..., Any]] = {}

    def __init__(self) -> None:  # no super().__init__(): skip per-instance option/function setup
        self._functions = FUNCTIONS
        self._dict_cls = dict
        self._root = None
        self._scope = ScopedChainDict()
        self.scope: Scope = EMPTY_SCOPE
        self.steps = 0

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise EvalError(f"evaluation budget exceeded ({MAX_STEPS} steps)")
        method = self._DISPATCH.get(node["type"])
        if method is None:
            method = getattr(type(self), "visit_" + node["type"])
            self._DISPATCH[node["type"]] = method
        return method(self, node, *args, **kwargs)

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > MAX_STEPS:
            raise EvalError(f"evaluation budget exceeded ({MAX_STEPS} steps)")

    def visit_root(self, node: dict[str, Any], value: Any) -> Any:
        return None  # kyverno-json creates its interpreter with a nil root

    def visit_variable_ref(self, node: dict[str, Any], value: Any) -> Any:
        try:
            return self._scope[node["value"]]
        except KeyError:
            return self.scope.lookup(node["value"])

    def visit_let_expression(self, node: dict[str, Any], value: Any) -> Any:
        *assigns, expr = node["children"]
        frame: dict[str, Any] = {}
        for assign in assigns:
            frame.update(self.visit(assign, value))
        self._scope.push_scope(frame)
        try:
            return self.visit(expr, value)
        finally:
            self._scope.pop_scope()

    def visit_comparator(self, node: dict[str, Any], value: Any) -> Any:
        op = node["value"]
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        if op == "eq":
            return json_equal(left, right)
        if op == "ne":
            return not json_equal(left, right)
        if not (is_number(left) and is_number(right)):
            return None  # Go: ordering is only defined on numbers
        return self.COMPARATOR_FUNC[op](left, right)

    def visit_arithmetic_unary(self, node: dict[str, Any], value: Any) -> Any:
        operand = self.visit(node["children"][0], value)
        if not is_number(operand):
            return None
        return -operand if node["value"] == "minus" else operand

    def visit_arithmetic(self, node: dict[str, Any], value: Any) -> Any:
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        if not (is_number(left) and is_number(right)):
            return None  # Go: arithmetic on anything but numbers is null
        return _arith(node["value"], left, right)

    def visit_function_expression(self, node: dict[str, Any], value: Any, *args: Any, **kwargs: Any) -> Any:
        resolved = [self.visit(child, value) for child in node["children"]]
        return self._functions.call_function(node["value"], resolved)


def _arith(op: str, a: int | float, b: int | float) -> int | float:
    if op == "plus":
        return a + b
    if op == "minus":
        return a - b
    if op == "multiply":
        return a * b
    if op == "divide":
        if b == 0:  # Go float64 division: ±Inf, or NaN for 0/0
            return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if op == "div":
        if b == 0:
            return _arith("divide", a, b)
        if isinstance(a, int) and isinstance(b, int):
            return a // b
        q = a / b
        return math.floor(q) if math.isfinite(q) else q
    if op == "modulo":  # Go math.Mod: the result has the dividend's sign
        if b == 0 or not math.isfinite(a):
            return math.nan
        if isinstance(a, int) and isinstance(b, int):
            r = abs(a) % abs(b)
            return -r if a < 0 else r
        return math.fmod(a, b)
    raise EvalError(f"unknown arithmetic operator {op}")


_ERRORS = (jp_exceptions.JMESPathError, TypeError, ValueError, ArithmeticError, KeyError, IndexError,
           AttributeError, RecursionError)


class JpProgram:
    """A JMESPath expression parsed once; calling it evaluates against a value with a scope."""

    __slots__ = ("ast", "has_let", "source")
    kind = "jp"

    def __init__(self, source: str, ast: dict[str, Any]) -> None:
        self.source = source
        self.ast = ast
        self.has_let = _has_let(ast)

    def __call__(self, value: Any, ev: Evaluator, scope: Scope) -> Any:
        saved_scope, saved_lets = ev.scope, ev._scope
        ev.scope, ev._scope = scope, (ScopedChainDict() if self.has_let else _NO_LETS)
        try:
            return ev.visit(self.ast, value)
        except EvalError:
            raise
        except RecursionError:
            raise EvalError("expression or value nested too deeply") from None
        except _ERRORS as exc:
            raise EvalError(error_text(exc)) from None
        finally:
            ev.scope, ev._scope = saved_scope, saved_lets


_NO_LETS = ScopedChainDict()  # shared and never pushed to: programs without `let` cannot push frames


def _has_let(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("type") == "let_expression" or any(_has_let(c) for c in node.get("children", ()))
    return False


def error_text(exc: BaseException) -> str:
    if isinstance(exc, jp_exceptions.LexerError):
        return f"syntax error at column {exc.lexer_position}: {exc.message}"
    if isinstance(exc, jp_exceptions.IncompleteExpressionError):
        return "syntax error: incomplete expression"
    if isinstance(exc, jp_exceptions.ArityError):
        return str(exc).split("\n")[0]
    if isinstance(exc, jp_exceptions.ParseError):
        return f"syntax error at column {exc.lex_position}: {exc.msg}"
    return str(exc).split("\n")[0] or type(exc).__name__


def _check_functions(node: Any) -> None:
    """Reject unknown functions and wrong argument counts when the policy loads."""
    if isinstance(node, dict):
        if node.get("type") == "function_expression":
            name = node["value"]
            if name in UNSUPPORTED:
                raise EvalError(f"function {name}() is not supported: {UNSUPPORTED[name]}")
            if name not in FUNCTION_TABLE:
                raise EvalError(f"unknown function: {name}()")
            sig = FUNCTION_TABLE[name]["signature"]
            count = len(node["children"])
            required = len([a for a in sig if not a.get("optional")])  # a variadic argument needs one value
            optional = len([a for a in sig if a.get("optional")])
            variadic = bool(sig) and bool(sig[-1].get("variadic"))
            if count < required or (not variadic and count > required + optional):
                expected = f"{required}" if not optional else f"{required} to {required + optional}"
                raise EvalError(f"function {name}() takes {expected}{' or more' if variadic else ''} "
                                f"argument(s), got {count}")
        for child in node.get("children", ()):
            _check_functions(child)


def compile_jp(source: str) -> JpProgram:
    """Parse a JMESPath expression once (policy load time); raises EvalError with a readable message."""
    try:
        ast = jp_parser.Parser()._parse(source).parsed
    except jp_exceptions.JMESPathError as exc:
        raise EvalError(error_text(exc)) from None
    except RecursionError:
        raise EvalError("expression nested too deeply") from None
    _check_functions(ast)
    return JpProgram(source, ast)


def search(source: str, value: Any, scope: Scope | None = None) -> Any:
    """Compile and evaluate in one go (pre-processing, tests); runtime errors raise EvalError."""
    return compile_jp(source)(value, Evaluator(), scope or EMPTY_SCOPE)
