"""JMESPath Community built-ins with go-jmespath's behaviour, plus kyverno-json's own at/concat/json_parse/wildcard."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any

from jmespath import functions as jp_functions
from jmespath.functions import signature

from bot.core.policy.gofmt import go_json
from bot.core.policy.matching import json_equal
from bot.core.policy.model import MAX_LIST, MAX_STRING, EvalError
from bot.core.policy.regex import wildcard_match

_GO_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z", re.I)


def check_list(items: list[Any]) -> list[Any]:
    if len(items) > MAX_LIST:
        raise EvalError(f"list result longer than {MAX_LIST} elements")
    return items


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


def parse_json_text(text: str) -> Any:
    """encoding/json Unmarshal into `any` (no NaN/Infinity), errors as EvalError."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise EvalError("JSON document nested too deeply") from None
    except ValueError as exc:
        raise EvalError(f"invalid JSON: {exc}") from None


def as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value in (
            float("inf"), float("-inf")) or int(value) != value:
        raise EvalError(f"{what} must be an integer, got {value!r}")
    return int(value)


_PYTYPES = {"boolean": ("bool",), "array": ("list", "_Projection"), "object": ("dict", "OrderedDict"),
            "null": ("NoneType",), "string": ("str",), "number": ("float", "int"), "expref": ("_Expression",)}


class _Checker:
    """A precomputed, fast form of jmespath's argument validation (the slow one reports the errors)."""

    def __init__(self, sig: list[dict[str, Any]]) -> None:
        self.required = len([a for a in sig if not a.get("optional")])  # a variadic argument needs one value
        self.variadic = bool(sig) and bool(sig[-1].get("variadic"))
        self.maximum = None if self.variadic else len(sig)
        self.args: list[tuple[frozenset[str], list[frozenset[str]]]] = []
        self.any = True
        for arg in sig:
            types = arg.get("types") or ([arg["type"]] if arg.get("type") else [])
            top: set[str] = set()
            subs: list[frozenset[str]] = []
            for t in types:
                base, _, sub = t.partition("-")
                top.update(_PYTYPES[base])
                if sub:
                    subs.append(frozenset(_PYTYPES[sub]))
            self.args.append((frozenset(top), subs))
            self.any = self.any and not top
        self.last = self.args[-1] if self.args else (frozenset(), [])

    def ok(self, values: list[Any]) -> bool:
        if len(values) < self.required or (self.maximum is not None and len(values) > self.maximum):
            return False
        if self.any:
            return True
        args = self.args
        for i, value in enumerate(values):
            top, subs = args[i] if i < len(args) else self.last
            if not top:
                continue
            if type(value).__name__ not in top:
                return False
            if subs and value and not any(all(type(v).__name__ in s for v in value) for s in subs):
                return False
        return True


_CHECKERS: dict[str, _Checker] = {}


class CommunityFunctions(jp_functions.Functions):
    """Community built-ins, fixed where jmespath-community (Python) differs from go-jmespath."""

    def call_function(self, function_name: str, resolved_args: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            spec = self.FUNCTION_TABLE[function_name]
        except KeyError:
            raise EvalError(f"unknown function: {function_name}()") from None
        checker = _CHECKERS.get(function_name)
        if checker is None:
            checker = _CHECKERS[function_name] = _Checker(spec["signature"])
        if not checker.ok(resolved_args):
            self._validate_arguments(resolved_args, spec["signature"], function_name)  # raises the precise error
        return spec["function"](self, *resolved_args)

    @signature({"types": ["array", "string"]}, {"types": []})
    def _func_contains(self, subject: Any, search: Any) -> bool:
        if isinstance(subject, str):
            return isinstance(search, str) and search in subject
        return any(json_equal(search, item) for item in subject)

    @signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        return arg if isinstance(arg, str) else go_json(arg)

    @signature({"types": []})
    def _func_to_number(self, arg: Any) -> Any:
        if isinstance(arg, bool) or arg is None or isinstance(arg, list | dict):
            return None
        if isinstance(arg, int | float):
            return arg
        if not isinstance(arg, str) or not _GO_FLOAT.match(arg):
            return None
        number = float(arg)
        if number.is_integer() and re.fullmatch(r"[+-]?[0-9]+", arg):
            return int(arg)
        return number

    @signature({"type": "string"}, {"type": "number"}, {"type": "string", "optional": True})
    def _func_pad_left(self, text: str, width: Any, padding: str = " ") -> str:
        if as_int(width, "pad_left() width") > MAX_STRING:
            raise EvalError(f"pad_left() width larger than {MAX_STRING}")
        return super()._func_pad_left(text, width, padding)

    @signature({"type": "string"}, {"type": "number"}, {"type": "string", "optional": True})
    def _func_pad_right(self, text: str, width: Any, padding: str = " ") -> str:
        if as_int(width, "pad_right() width") > MAX_STRING:
            raise EvalError(f"pad_right() width larger than {MAX_STRING}")
        return super()._func_pad_right(text, width, padding)

    @signature({"types": ["string"]}, {"types": ["array-string"]})
    def _func_join(self, separator: str, array: list[str]) -> str:
        size = sum(len(s) for s in array) + len(separator) * max(len(array) - 1, 0)
        if size > MAX_STRING:
            raise EvalError(f"join() result longer than {MAX_STRING} characters")
        return separator.join(array)

    @signature({"types": ["array"]}, {"types": ["expref"]})
    def _func_group_by(self, array: list[Any], expref: Any) -> Any:
        keyfunc = self._create_key_func(expref, ["null", "string"], "group_by")
        if not array:
            return None
        result: OrderedDict[str, list[Any]] = OrderedDict()
        for item in array:
            key = keyfunc(item)
            if key is not None:
                result.setdefault(key, []).append(item)
        return result

    @signature({"types": ["array"], "variadic": True})
    def _func_zip(self, *arguments: list[Any]) -> list[Any]:
        return check_list([list(t) for t in zip(*arguments, strict=False)])

    # --- kyverno-json's own functions (pkg/jp/functions) ---

    @signature({"types": ["array"]}, {"types": ["number"]})
    def _func_at(self, array: list[Any], index: Any) -> Any:
        i = as_int(index, "at() index")
        if not 0 <= i < len(array):
            raise EvalError(f"at(): index {i} out of range [0, {len(array)})")
        return array[i]

    @signature({"types": ["string"]}, {"types": ["string"]})
    def _func_concat(self, left: str, right: str) -> str:
        if len(left) + len(right) > MAX_STRING:
            raise EvalError(f"concat() result longer than {MAX_STRING} characters")
        return left + right

    @signature({"types": ["string"]})
    def _func_json_parse(self, data: str) -> Any:
        return parse_json_text(data)

    @signature({"types": ["string"]}, {"types": ["string"]})
    def _func_wildcard(self, pattern: str, name: str) -> bool:
        return wildcard_match(pattern, name)
