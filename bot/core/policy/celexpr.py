"""The `cel` compiler: CEL expressions (common-expression-language) with `object` and `bindings.resolve()`."""

from __future__ import annotations

import base64
import importlib.util
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.policy.model import EvalError


class Budget(Protocol):
    """What a CEL program needs of the evaluator: the step budget every expression draws from."""

    def tick(self, n: int = 1) -> None: ...


class Bindings(Protocol):
    """What a CEL program needs of the scope: `$name` lookups."""

    def lookup(self, name: str) -> Any: ...

# `import cel` also loads its command-line tool (typer, rich, prompt_toolkit: ~0.3 s), so the library is
# imported on first use, when a policy actually contains a CEL expression.
HAVE_CEL = importlib.util.find_spec("cel") is not None
NOT_SUPPORTED = "CEL is not supported: the common-expression-language package is not installed"
_cel: Any = None
_FUNCTIONS: dict[str, Any] = {}


class CelUnsupported(EvalError):
    """CEL was asked for but the library is missing: reported per rule, as status `error`."""


def _library() -> Any:
    global _cel, _FUNCTIONS
    if _cel is None:
        if not HAVE_CEL:
            raise CelUnsupported(NOT_SUPPORTED)
        try:
            import cel
            from cel import stdlib
        except ImportError:
            raise CelUnsupported(NOT_SUPPORTED) from None
        # kyverno-json's CEL environment adds cel-go's string and set extensions.
        _FUNCTIONS = {**stdlib.EXTENSIONS["strings"], **stdlib.EXTENSIONS["sets"]}
        _cel = cel
    return _cel


def _from_cel(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _from_cel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_from_cel(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _clean(message: str) -> str:
    """The library may append stale callback errors to a message: keep the first one."""
    for marker in ("Python function 'resolve' failed", ". Check function arguments"):
        index = message.find(marker)
        if index > 0:
            message = message[:index]
    return message.strip().rstrip(".")


class CelProgram:
    """A CEL expression compiled once; `object` is the current value, `bindings.resolve('x')` reads `$x`."""

    __slots__ = ("program", "source")
    kind = "cel"

    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self.program = program

    def __call__(self, value: Any, ev: Budget, scope: Bindings) -> Any:
        ev.tick(10)
        failure: list[str] = []

        def resolve(*args: Any) -> Any:
            name = args[-1] if args else None
            if not isinstance(name, str):
                failure.append("bindings.resolve() needs a string name")
                raise ValueError(failure[-1])
            try:
                return scope.lookup(name)
            except EvalError as exc:
                failure.append(str(exc))
                raise ValueError(str(exc)) from None

        context = _library().Context({"object": value, "bindings": {}}, {**_FUNCTIONS, "resolve": resolve})
        try:
            result = self.program.execute(context)
        except KeyError as exc:
            raise EvalError(failure[0] if failure else f"no such key: {exc.args[0] if exc.args else ''}") from None
        except (ValueError, TypeError, RuntimeError, ArithmeticError, OverflowError) as exc:
            raise EvalError(failure[0] if failure else f"CEL: {_clean(str(exc))}") from None
        return _from_cel(result)


def compile_cel(source: str) -> CelProgram:
    """Parse a CEL expression (policy load time)."""
    library = _library()
    try:
        return CelProgram(source, library.compile(source))
    except (ValueError, RuntimeError) as exc:
        raise EvalError(f"CEL: {_clean(str(exc).splitlines()[0])}") from None
