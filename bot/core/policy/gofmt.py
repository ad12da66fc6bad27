"""Go-compatible rendering of values: fmt %v / %#v / %q, strconv floats, encoding/json, k8s error bodies."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from bot.core.policy.model import MAX_DEPTH, MAX_STRING, EvalError

_ERROR_TYPE_TEXT = {
    "FieldValueInvalid": "Invalid value",
    "FieldValueTypeInvalid": "Invalid value",
    "FieldValueRequired": "Required value",
    "InternalError": "Internal error",
}


def _digits(f: float) -> tuple[str, int]:
    """Shortest decimal digits of |f| and the decimal point position (value = 0.DIGITS x 10^dp)."""
    _, digits, exp = Decimal(repr(abs(f))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    assert isinstance(exp, int)
    return text, len(digits) + exp


def _fmt_e(neg: bool, digs: str, dp: int) -> str:
    mant = digs[0] + ("." + digs[1:] if len(digs) > 1 else "")
    exp = dp - 1
    return f"{'-' if neg else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fmt_f(neg: bool, digs: str, dp: int) -> str:
    if dp <= 0:
        text = "0." + "0" * -dp + digs
    elif dp >= len(digs):
        text = digs + "0" * (dp - len(digs))
    else:
        text = digs[:dp] + "." + digs[dp:]
    return ("-" if neg else "") + text


def go_float(f: float, json_style: bool = False) -> str:
    """strconv 'g' with shortest precision (fmt %v), or encoding/json's float format."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    if f == 0:
        return "-0" if neg and not json_style else "0"
    digs, dp = _digits(f)
    exp = dp - 1
    if json_style:
        if abs(f) < 1e-6 or abs(f) >= 1e21:
            return _fmt_e(neg, digs, dp).replace("e-0", "e-").replace("e+0", "e+")
        return _fmt_f(neg, digs, dp)
    if exp < -4 or exp >= 6:  # strconv: shortest 'g' switches to %e at exponent 6
        return _fmt_e(neg, digs, dp)
    return _fmt_f(neg, digs, dp)


def go_quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch in "\a\b\f\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}[ch])
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def go_sprint(value: Any, depth: int = 0) -> str:
    """fmt.Sprint / %v of a JSON-like value (maps print with sorted keys)."""
    if depth > MAX_DEPTH:
        raise EvalError("value nested too deeply")
    if value is None:
        return "<nil>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{go_sprint(k, depth + 1)}:{go_sprint(v, depth + 1)}" for k, v in items) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v, depth + 1) for v in value) + "]"
    return str(value)


def go_sharp(value: Any, depth: int = 0, nested: bool = False) -> str:
    """fmt %#v of a JSON-like value held in an `interface{}`."""
    if depth > MAX_DEPTH:
        raise EvalError("value nested too deeply")
    if value is None:
        return "interface {}(nil)" if nested else "<nil>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        inner = ", ".join(f"{go_sharp(k, depth + 1, True)}:{go_sharp(v, depth + 1, True)}" for k, v in items)
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp(v, depth + 1, True) for v in value) + "}"
    return repr(value)


def simple_value(value: Any) -> str:
    """How k8s error bodies and kyverno-json's `Expected value:` print a value."""
    if value is True or value is False or isinstance(value, int | float):
        return go_sprint(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_sharp(value)


def error_body(type_: str, bad_value: Any, detail: str) -> str:
    """field.Error.ErrorBody (apimachinery v0.31)."""
    text = _ERROR_TYPE_TEXT.get(type_, type_)
    if type_ not in ("FieldValueRequired", "InternalError"):
        text += ": " + simple_value("null" if bad_value is None else bad_value)
    return f"{text}: {detail}" if detail else text


def expected_message(value: Any) -> str:
    return "Expected value: " + simple_value(value)


_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def go_json(value: Any, limit: int = MAX_STRING) -> str:
    """encoding/json.Marshal: sorted keys, no spaces, HTML-escaped, Go float format; bounded in size."""
    parts: list[str] = []
    size = 0

    def emit(text: str) -> None:
        nonlocal size
        size += len(text)
        if size > limit:
            raise EvalError(f"JSON text longer than {limit} characters")
        parts.append(text)

    def walk(v: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise EvalError("value nested too deeply")
        if v is None:
            emit("null")
        elif v is True or v is False:
            emit("true" if v else "false")
        elif isinstance(v, str):
            emit(json.dumps(v, ensure_ascii=False).translate(_HTML))
        elif isinstance(v, int):
            emit(str(v))
        elif isinstance(v, float):
            if math.isnan(v) or math.isinf(v):
                raise EvalError(f"json: unsupported value: {go_float(v)}")
            emit(go_float(v, json_style=True))
        elif isinstance(v, dict):
            emit("{")
            for i, key in enumerate(sorted(v, key=str)):
                if i:
                    emit(",")
                emit(json.dumps(str(key), ensure_ascii=False).translate(_HTML) + ":")
                walk(v[key], depth + 1)
            emit("}")
        elif isinstance(v, list | tuple):
            emit("[")
            for i, item in enumerate(v):
                if i:
                    emit(",")
                walk(item, depth + 1)
            emit("]")
        else:
            raise EvalError(f"json: unsupported type: {type(v).__name__}")

    walk(value, 0)
    return "".join(parts)
