"""Kubernetes resource quantities ("100Mi", "1500m") and Go durations ("1h30m"), as Kyverno's arithmetic uses them."""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from decimal import Decimal

from bot.core.policy.model import EvalError

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = {v: k for k, v in _BINARY.items()}
_CTX = decimal.Context(prec=200, Emax=10_000, Emin=-10_000)
_SUFFIX_CHARS = set("eEinumkKMGTP")
_NANO = Decimal("1e-9")


@dataclass(frozen=True)
class Quantity:
    """An exact decimal amount and the format its canonical string uses."""

    value: Decimal
    format: str

    def __str__(self) -> str:
        return format_quantity(self.value, self.format)


def _split(text: str) -> tuple[bool, str, str, str] | None:
    """apimachinery parseQuantityString: (positive, integer digits, fraction digits, suffix)."""
    pos, end = 0, len(text)
    positive = True
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos].isdigit() and text[pos].isascii():
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    if pos < end:
        return None
    return positive, num, denom, text[suffix_start:]


def parse_quantity(text: str) -> Quantity | None:
    """resource.ParseQuantity, or None when `text` is not a quantity."""
    if not text:
        return None
    parts = _split(text)
    if parts is None:
        return None
    positive, num, denom, suffix = parts
    if suffix in _BINARY:
        base, exp, fmt = 2, _BINARY[suffix], BINARY_SI
    elif suffix in _DECIMAL:
        base, exp, fmt = 10, _DECIMAL[suffix], DECIMAL_SI
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        base, exp, fmt = 10, int(suffix[1:]), DECIMAL_EXPONENT
        if abs(exp) > 1000:
            return None
    else:
        return None
    digits = int(num + denom)
    if base == 2:
        amount = Decimal((0, tuple(map(int, str(digits << exp))), -len(denom)))
    else:
        amount = Decimal((0, tuple(map(int, str(digits))), exp - len(denom)))
    if not positive:
        amount = -amount
    if _exponent(amount) < -9:  # below a nano: rounded away from zero to the next nano
        amount = amount.quantize(_NANO, rounding=decimal.ROUND_UP, context=_CTX)
    return Quantity(amount, fmt)


def _exponent(value: Decimal) -> int:
    exp = value.as_tuple().exponent
    return exp if isinstance(exp, int) else 0


def _mantissa_exponent(value: Decimal) -> tuple[int, int]:
    sign, digits, exp = value.normalize(_CTX).as_tuple()
    assert isinstance(exp, int)
    mant = int("".join(map(str, digits)) or "0")
    return (-mant if sign else mant), exp


def format_quantity(value: Decimal, fmt: str) -> str:
    """Quantity.String(): the canonical form of apimachinery's CanonicalizeBytes."""
    if value == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 < value < 1024 or value != value.to_integral_value():
            fmt = DECIMAL_SI
        else:
            amount, times = int(value), 0
            while amount % 1024 == 0 and times < 6:
                amount //= 1024
                times += 1
            return f"{amount}{_BINARY_SUFFIX.get(times * 10, '')}"
    mant, exp = _mantissa_exponent(value)
    while exp % 3:
        mant *= 10
        exp -= 1
    if fmt == DECIMAL_EXPONENT:
        return f"{mant}e{exp}" if exp else str(mant)
    if exp in _DECIMAL_SUFFIX:
        return f"{mant}{_DECIMAL_SUFFIX[exp]}"
    return f"{mant}e{exp}"


# --- Go durations -------------------------------------------------------------------------------------------

_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}
_MAX_DURATION = (1 << 63) - 1
_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds; raises EvalError."""
    orig = text
    neg = False
    if text and text[0] in "+-":
        neg = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise EvalError(f'time: invalid duration "{orig}"')
    total = 0
    while text:
        m = _PART.match(text)
        assert m is not None
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise EvalError(f'time: invalid duration "{orig}"')
        if not unit:
            raise EvalError(f'time: missing unit in duration "{orig}"')
        if unit not in _UNITS:
            raise EvalError(f'time: unknown unit "{unit}" in duration "{orig}"')
        scale = _UNITS[unit]
        total += int(whole or "0") * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        if total > _MAX_DURATION + (1 if neg else 0):
            raise EvalError(f'time: invalid duration "{orig}"')
        text = text[m.end():]
    return -total if neg else total


def _frac(value: int, digits: int) -> str:
    whole, rest = divmod(value, 10**digits)
    tail = f"{rest:0{digits}d}".rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def format_duration(ns: int) -> str:
    """time.Duration.String(): "1h30m0s", "1.5s", "250ms", "0s"."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 10**9:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_frac(u, 3)}\u00b5s"
        return f"{sign}{_frac(u, 6)}ms"
    secs, rest = divmod(u, 10**9)
    minutes, secs = divmod(secs, 60)
    hours, minutes = divmod(minutes, 60)
    sec_text = _frac(secs * 10**9 + rest, 9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{sign}{minutes}m{sec_text}"
    return sign + sec_text


def check_duration(ns: int) -> int:
    if not -(1 << 63) <= ns <= _MAX_DURATION:
        raise EvalError("duration out of range")
    return ns
