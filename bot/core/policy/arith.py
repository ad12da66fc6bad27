"""Kyverno's add/subtract/multiply/divide/modulo/sum over numbers, quantities and durations (arithmetic.go)."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from bot.core.policy.gofmt import go_float
from bot.core.policy.matching import is_number
from bot.core.policy.model import EvalError
from bot.core.policy.quantity import Quantity, check_duration, format_duration, parse_duration, parse_quantity

_CTX = decimal.Context(prec=200, Emax=10_000, Emin=-10_000)
_SEC = 1_000_000_000


class Dur(int):
    """A Go time.Duration operand, in nanoseconds."""


Operand = float | int | Quantity | Dur


def _err(fn: str, text: str) -> EvalError:
    return EvalError(f"JMESPath function '{fn}': {text}")


def operand(value: Any, fn: str) -> Operand:
    """A number, else a string that parses as a quantity, else as a duration."""
    if is_number(value):
        return value
    if isinstance(value, str):
        q = parse_quantity(value)
        if q is not None:
            return q
        try:
            return Dur(parse_duration(value))
        except EvalError:
            pass
    raise _err(fn, "invalid operand")


def _scalar_quantity(v: float | int, fn: str) -> Quantity:
    q = parse_quantity(go_float(float(v)))  # Kyverno re-parses fmt.Sprintf("%v", scalar)
    if q is None:
        raise _err(fn, "invalid operand")
    return q


def _dur(ns: float) -> str:
    return format_duration(check_duration(int(ns)))


def add(a: Operand, b: Operand, fn: str = "add", negate: bool = False) -> Any:
    sign = -1 if negate else 1
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        fmt = b.format if a.value == 0 else a.format
        return str(Quantity(_CTX.add(a.value, sign * b.value), fmt))
    if isinstance(a, Dur) and isinstance(b, Dur):
        return _dur(a + sign * b)
    if is_number(a) and is_number(b) and not isinstance(a, Dur) and not isinstance(b, Dur):
        return a + sign * b  # type: ignore[operator]
    raise _err(fn, "Types mismatch")


def multiply(a: Operand, b: Operand) -> Any:
    if isinstance(b, Quantity | Dur) and not isinstance(a, Quantity | Dur):
        a, b = b, a
    if isinstance(b, Quantity | Dur):
        raise _err("multiply", "Types mismatch")
    if isinstance(a, Quantity):
        return str(Quantity(_CTX.multiply(a.value, _scalar_quantity(b, "multiply").value), a.format))
    if isinstance(a, Dur):
        return _dur(int(a) / _SEC * b * _SEC)
    return a * b


def divide(a: Operand, b: Operand) -> Any:
    zero = _err("divide", "Zero divisor passed")
    if isinstance(a, Quantity):
        if isinstance(b, Quantity):
            if b.value == 0:
                raise zero
            return float(a.value) / float(b.value)
        if isinstance(b, Dur) or not is_number(b):
            raise _err("divide", "Types mismatch")
        if b == 0:
            raise zero
        q = _scalar_quantity(b, "divide")
        exp = min(_exponent(a.value), _exponent(q.value))
        quo = _CTX.divide(a.value, q.value).quantize(Decimal((0, (1,), exp)), rounding=decimal.ROUND_DOWN,
                                                      context=_CTX)
        return str(Quantity(quo, a.format))
    if isinstance(a, Dur):
        if isinstance(b, Dur):
            if b == 0:
                raise zero
            return (int(a) / _SEC) / (int(b) / _SEC)
        if isinstance(b, Quantity):
            raise _err("divide", "Types mismatch")
        if b == 0:
            raise zero
        return _dur(int(a) / _SEC / b * _SEC)
    if isinstance(b, Quantity | Dur):
        raise _err("divide", "Types mismatch")
    if b == 0:
        raise zero
    return a / b


def _exponent(value: Decimal) -> int:
    exp = value.as_tuple().exponent
    return exp if isinstance(exp, int) else 0


def _trunc_mod(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _as_whole(value: float | int | Decimal) -> int:
    if value != int(value):
        raise _err("modulo", "Non-integer argument(s) passed for modulo")
    return int(value)


def modulo(a: Operand, b: Operand) -> Any:
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        x, y = _as_whole(float(a.value)), _as_whole(float(b.value))
        if y == 0:
            raise _err("modulo", "Zero divisor passed")
        return str(Quantity(Decimal(_trunc_mod(x, y)), a.format))
    if isinstance(a, Dur) and isinstance(b, Dur):
        if b == 0:
            raise _err("modulo", "Zero divisor passed")
        return _dur(_trunc_mod(int(a), int(b)))
    if isinstance(a, Quantity | Dur) or isinstance(b, Quantity | Dur):
        raise _err("modulo", "Types mismatch")
    x, y = _as_whole(a), _as_whole(b)
    if y == 0:
        raise _err("modulo", "Zero divisor passed")
    return _trunc_mod(x, y)


def binary(fn: str, left: Any, right: Any) -> Any:
    a, b = operand(left, fn), operand(right, fn)
    if fn in ("add", "sum"):
        return add(a, b, fn)
    if fn == "subtract":
        return add(a, b, "subtract", negate=True)
    if fn == "multiply":
        return multiply(a, b)
    if fn == "divide":
        return divide(a, b)
    return modulo(a, b)


def total(items: list[Any]) -> Any:
    """Kyverno's sum: at least one element, folded with `add`."""
    if not items:
        raise _err("sum", "at least one element in the array is required")
    result = items[0]
    for item in items[1:]:
        result = binary("sum", result, item)
    return result
