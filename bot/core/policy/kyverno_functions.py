"""Kyverno's JMESPath functions (pkg/jp/kyverno), registered last so they replace same-named built-ins."""

from __future__ import annotations

import base64
import binascii
import struct
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jmespath.functions import signature

from bot.core.policy import arith, regex
from bot.core.policy.functions import CommunityFunctions, as_int, check_list, parse_json_text
from bot.core.policy.matching import json_equal
from bot.core.policy.model import MAX_STRING, EvalError
from bot.core.policy.semver import semver_compare
from bot.core.policy.time_functions import TimeFunctions

_STR = {"types": ["string"]}
_NUM = {"types": ["number"]}
_STR_NUM = {"types": ["string", "number"]}
_ANY: dict[str, Any] = {"types": []}


def iface_to_string(value: Any, fn: str, arg: int) -> str:
    """Kyverno's ifaceToString: strings, numbers (float32 precision, no exponent) and booleans."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        f32 = struct.unpack("f", struct.pack("f", value))[0] if abs(value) < 3.4e38 else value
        for prec in range(1, 18):
            text = f"{f32:.{prec}g}"
            if abs(value) >= 3.4e38 or struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
                break
        return format(Decimal(text), "f")
    raise EvalError(f"JMESPath function '{fn}': argument #{arg} is not of type String or Real")


def _go_upper(s: str) -> str:
    return s.upper() if s.isascii() else "".join(c.upper() if len(c.upper()) == 1 else c for c in s)


def _go_lower(s: str) -> str:
    return s.lower() if s.isascii() else "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


def _fold_eq(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    return all(x == y or _go_lower(x) == _go_lower(y) or _go_upper(x) == _go_upper(y) for x, y in zip(a, b,
                                                                                                  strict=True))


def _replace(s: str, old: str, new: str, n: int) -> str:
    count = s.count(old) if old else len(s) + 1
    if n >= 0:
        count = min(count, n)
    if len(s) + count * (len(new) - len(old)) > MAX_STRING:
        raise EvalError(f"replace result longer than {MAX_STRING} characters")
    return s.replace(old, new, n if n >= 0 else -1)


def go_clean(path: str) -> str:
    """path/filepath.Join of one element (= Clean, but "" stays "")."""
    if path == "":
        return ""
    rooted = path.startswith("/")
    stack: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if stack and stack[-1] != "..":
                stack.pop()
            elif not rooted:
                stack.append("..")
        else:
            stack.append(part)
    out = ("/" if rooted else "") + "/".join(stack)
    return out or "."


class KyvernoFunctions(CommunityFunctions, TimeFunctions):
    """The function table kyverno-json evaluates with: community, then custom, then Kyverno (last wins)."""

    @signature(_STR, _STR)
    def _func_compare(self, a: str, b: str) -> int:
        return (a > b) - (a < b)

    @signature(_STR, _STR)
    def _func_equal_fold(self, a: str, b: str) -> bool:
        return _fold_eq(a, b)

    @signature(_STR, _STR, _STR, _NUM)
    def _func_replace(self, s: str, old: str, new: str, n: Any) -> str:
        return _replace(s, old, new, int(n))

    @signature(_STR, _STR, _STR)
    def _func_replace_all(self, s: str, old: str, new: str) -> str:
        return _replace(s, old, new, -1)

    @signature(_STR)
    def _func_to_upper(self, s: str) -> str:
        return _go_upper(s)

    @signature(_STR)
    def _func_to_lower(self, s: str) -> str:
        return _go_lower(s)

    @signature(_STR, _STR)
    def _func_trim(self, s: str, cutset: str) -> str:
        return s.strip(cutset) if cutset else s

    @signature(_STR, _STR)
    def _func_trim_prefix(self, s: str, prefix: str) -> str:
        return s.removeprefix(prefix)

    @signature(_STR, _STR)
    def _func_split(self, s: str, sep: str) -> list[Any]:
        if sep == "":
            return check_list(list(s))
        return check_list(s.split(sep))

    @signature(_STR, _STR_NUM, _STR_NUM)
    def _func_regex_replace_all(self, pattern: str, src: Any, repl: Any) -> str:
        return regex.replace_all(pattern, iface_to_string(src, "regex_replace_all", 2),
                                 iface_to_string(repl, "regex_replace_all", 3), literal=False)

    @signature(_STR, _STR_NUM, _STR_NUM)
    def _func_regex_replace_all_literal(self, pattern: str, src: Any, repl: Any) -> str:
        return regex.replace_all(pattern, iface_to_string(src, "regex_replace_all_literal", 2),
                                 iface_to_string(repl, "regex_replace_all_literal", 3), literal=True)

    @signature(_STR, _STR_NUM)
    def _func_regex_match(self, pattern: str, src: Any) -> bool:
        return regex.search(pattern, iface_to_string(src, "regex_match", 2))

    @signature(_STR, _STR_NUM)
    def _func_pattern_match(self, pattern: str, src: Any) -> bool:
        return regex.wildcard_match(pattern, iface_to_string(src, "pattern_match", 2))

    @signature({"types": ["object"]}, {"types": ["object"]})
    def _func_label_match(self, selector: dict[str, Any], labels: dict[str, Any]) -> bool:
        return all(key in labels and json_equal(labels[key], value) for key, value in selector.items())

    @signature(_STR)
    def _func_to_boolean(self, s: str) -> bool:
        if s.lower() in ("true", "false"):
            return s.lower() == "true"
        raise EvalError(f"JMESPath function 'to_boolean': lowercase argument must be 'true' or 'false' "
                        f"(provided: '{s}')")

    @signature(_ANY, _ANY)
    def _func_add(self, a: Any, b: Any) -> Any:
        return arith.binary("add", a, b)

    @signature({"types": ["array"]})
    def _func_sum(self, items: list[Any]) -> Any:
        return arith.total(items)

    @signature(_ANY, _ANY)
    def _func_subtract(self, a: Any, b: Any) -> Any:
        return arith.binary("subtract", a, b)

    @signature(_ANY, _ANY)
    def _func_multiply(self, a: Any, b: Any) -> Any:
        return arith.binary("multiply", a, b)

    @signature(_ANY, _ANY)
    def _func_divide(self, a: Any, b: Any) -> Any:
        return arith.binary("divide", a, b)

    @signature(_ANY, _ANY)
    def _func_modulo(self, a: Any, b: Any) -> Any:
        return arith.binary("modulo", a, b)

    @signature(_NUM, _NUM)
    def _func_round(self, value: Any, places: Any) -> float:
        digits = as_int(places, "round() decimal places")
        if digits < 0:
            raise EvalError("JMESPath function 'round': 2 argument is out of bounds (0)")
        shift = 10.0**digits
        scaled = Decimal(float(value) * shift).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return float(scaled) / shift

    @signature(_STR)
    def _func_base64_decode(self, s: str) -> str:
        try:
            raw = base64.b64decode(s.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EvalError(f"illegal base64 data: {exc}") from None
        return raw.decode("utf-8", errors="replace")

    @signature(_STR)
    def _func_base64_encode(self, s: str) -> str:
        if len(s) > MAX_STRING * 3 // 4:
            raise EvalError(f"base64_encode() result longer than {MAX_STRING} characters")
        return base64.b64encode(s.encode("utf-8", errors="surrogatepass")).decode("ascii")

    @signature(_STR)
    def _func_path_canonicalize(self, s: str) -> str:
        return go_clean(s)

    @signature(_STR, _NUM)
    def _func_truncate(self, s: str, length: Any) -> str:
        return s[: max(int(length), 0)] if length == length else s

    @signature(_STR, _STR)
    def _func_semver_compare(self, version: str, spec: str) -> bool:
        return semver_compare(version, spec)

    @signature(_STR)
    def _func_parse_json(self, s: str) -> Any:
        return parse_json_text(s)

    @signature(_STR)
    def _func_parse_yaml(self, s: str) -> Any:
        from bot.core.policy.yamlsafe import parse_yaml_value

        return parse_yaml_value(s)

    @signature({"types": ["object", "array"]}, _STR_NUM)
    def _func_lookup(self, container: Any, key: Any) -> Any:
        if isinstance(container, dict):
            if not isinstance(key, str):
                raise EvalError("JMESPath function 'lookup': argument #2 is not of type String")
            return container.get(key)
        if isinstance(key, str):
            raise EvalError("JMESPath function 'lookup': argument #2 is not of type Number")
        index = as_int(key, "lookup() index")
        return container[index] if 0 <= index < len(container) else None

    @signature({"types": ["object", "array"]}, _STR, _STR)
    def _func_items(self, container: Any, key_name: str, value_name: str) -> list[Any]:
        if isinstance(container, dict):
            return check_list([{key_name: k, value_name: container[k]} for k in sorted(container)])
        return check_list([{key_name: i, value_name: v} for i, v in enumerate(container)])

    @signature({"types": ["array"]}, {"types": ["array"]})
    def _func_object_from_lists(self, keys: list[Any], values: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, key in enumerate(keys):
            out[iface_to_string(key, "object_from_lists", 1)] = values[i] if i < len(values) else None
        return out


UNSUPPORTED = {
    "random": "it makes policy results non-deterministic",
    "x509_decode": "certificate decoding is not available in Pledge policies",
}
FUNCTIONS = KyvernoFunctions()
FUNCTION_TABLE: dict[str, Any] = FUNCTIONS.FUNCTION_TABLE
