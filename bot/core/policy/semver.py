"""blang/semver v4 versions and ranges, as Kyverno's semver_compare uses them."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core.policy.model import EvalError

_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION = re.compile(
    rf"^({_NUM})\.({_NUM})\.({_NUM})(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z")

Version = tuple[int, int, int, tuple[str, ...]]


def parse_version(text: str) -> Version:
    m = _VERSION.match(text)
    if not m:
        raise EvalError(f"invalid semantic version {text!r}")
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), pre


def _cmp_pre(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    if not a or not b:
        return (not a) - (not b)
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        xn, yn = x.isdigit(), y.isdigit()
        if xn and yn:
            return -1 if int(x) < int(y) else 1
        if xn != yn:
            return -1 if xn else 1
        return -1 if x < y else 1
    return (len(a) > len(b)) - (len(a) < len(b))


def compare(a: Version, b: Version) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    return _cmp_pre(a[3], b[3])


_OPS: dict[str, Callable[[int], bool]] = {
    "": lambda c: c == 0, "=": lambda c: c == 0, "==": lambda c: c == 0, "!": lambda c: c != 0,
    "!=": lambda c: c != 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0, "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
}


def _split_parts(text: str) -> list[str]:
    """blang's splitAndTrim: spaces split parts, except right after an operator character."""
    parts: list[str] = []
    last, last_char = 0, ""
    for i, ch in enumerate(text):
        if ch == " " and last_char not in (">", "<", "="):
            parts.append(text[last:i])
            last = i + 1
        elif ch != " ":
            last_char = ch
    parts.append(text[last:])
    return [p.replace(" ", "") for p in parts if p.strip()]


def _bump(version: str, index: int) -> str:
    parts = version.split(".")
    parts[index] = str(int(parts[index]) + 1)
    return ".".join(parts)


def _expand(op: str, version: str) -> list[tuple[str, str]]:
    """Expand `1.x` / `1.2.x` wildcards into plain comparisons."""
    parts = version.split(".")
    if parts[-1] != "x" or len(parts) not in (2, 3):
        return [(op, version)]
    base = version.replace(".x.x", ".x", 1).replace(".x", ".0", 1)
    if len(base.split(".")) == 2:
        base += ".0"
    bump_index = 0 if len(parts) == 2 or version.endswith(".x.x") else 1
    upper = _bump(base, bump_index)
    upper = ".".join([*upper.split(".")[:2], "0"]) if bump_index == 1 else upper.split(".")[0] + ".0.0"
    table = {">=": [(">=", base)], ">": [(">=", upper)], "<": [("<", base)], "<=": [("<", upper)],
             "!=": [("<", base), (">=", upper)], "": [(">=", base), ("<", upper)]}
    table["="] = table["=="] = table[""]
    if op not in table:
        return [(op, version)]
    return table[op]


def range_matches(version: Version, spec: str) -> bool:
    """semver.ParseRange(spec)(version): `||` alternatives of space-separated AND comparisons."""
    parts = _split_parts(spec)
    if not parts or parts[0] == "||" or parts[-1] == "||":
        raise EvalError(f"invalid semver range {spec!r}")
    groups: list[list[str]] = [[]]
    for p in parts:
        if p == "||":
            groups.append([])
        else:
            groups[-1].append(p)
    for group in groups:
        ok = True
        for part in group:
            m = re.match(r"^([^0-9]*)(.*)\Z", part)
            assert m is not None
            op, ver = m.group(1).strip(), m.group(2)
            if not ver or op not in _OPS:
                raise EvalError(f"could not parse semver range part {part!r}")
            if "!" in op and op not in ("!", "!="):
                raise EvalError(f"could not parse comparator {op!r}")
            for sub_op, sub_ver in _expand(op, ver):
                if not _OPS[sub_op](compare(version, parse_version(sub_ver))):
                    ok = False
        if ok and group:
            return True
    return False


def semver_compare(version: str, spec: str) -> bool:
    try:
        parsed = parse_version(version)
    except EvalError:
        parsed = (0, 0, 0, ())  # blang's Parse error is ignored by Kyverno: the zero version is compared
    return range_matches(parsed, spec)
