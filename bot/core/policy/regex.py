"""Go regexp semantics on RE2 (linear time, no catastrophic backtracking) and Kyverno's `*`/`?` wildcards."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.core.policy.model import MAX_STRING, EvalError

try:  # google-re2: the same engine family as Go's regexp, so no pattern can hang the bot
    import re2 as _re2

    _OPTIONS = _re2.Options()
    _OPTIONS.log_errors = False
except ImportError:  # pragma: no cover - exercised only without the dependency
    _re2 = None

HAVE_RE2 = _re2 is not None


@lru_cache(maxsize=512)
def _compile_cached(pattern: str) -> Any:
    return _re2.compile(pattern, _OPTIONS)


def compile_re(pattern: str) -> Any:
    """Compile an RE2 pattern; EvalError on bad syntax or when google-re2 is missing."""
    if _re2 is None:
        raise EvalError("regular expressions need the google-re2 package (pip install google-re2)")
    try:
        return _compile_cached(pattern)
    except _re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise EvalError(f"error parsing regexp: {detail}: `{pattern}`") from None


def search(pattern: str, text: str) -> bool:
    return compile_re(pattern).search(text) is not None


def _is_name_char(ch: str) -> bool:
    return ch == "_" or (ch.isascii() and ch.isalnum())


def _expand(template: str, match: Any, groupindex: dict[str, int], groups: int) -> str:
    """regexp.Expand: $1, ${1}, $name, ${name}; $$ is a literal $."""
    out: list[str] = []
    i = 0
    while i < len(template):
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            break
        out.append(template[i:j])
        i = j + 1
        if template[i:i + 1] == "$":
            out.append("$")
            i += 1
            continue
        braced = template[i:i + 1] == "{"
        k = i + 1 if braced else i
        start = k
        while k < len(template) and _is_name_char(template[k]):
            k += 1
        name = template[start:k]
        if not name or (braced and template[k:k + 1] != "}"):
            out.append("$")  # not a valid reference: keep the dollar sign
            continue
        i = k + 1 if braced else k
        if name.isdigit():
            idx = int(name)
            value = match.group(idx) if idx <= groups else None
        else:
            value = match.group(groupindex[name]) if name in groupindex else None
        out.append(value or "")
    return "".join(out)


def replace_all(pattern: str, src: str, repl: str, literal: bool) -> str:
    """regexp.ReplaceAll / ReplaceAllLiteral (Go's empty-match rules), bounded in output size."""
    rx = compile_re(pattern)
    groupindex = dict(rx.groupindex)
    out: list[str] = []
    size = 0
    last_end = 0
    pos = 0
    while pos <= len(src):
        m = rx.search(src, pos)
        if m is None:
            break
        start, end = m.span()
        out.append(src[last_end:start])
        size += start - last_end
        if end > last_end or start == 0:
            out.append(repl if literal else _expand(repl, m, groupindex, rx.groups))
            size += len(out[-1])
        if size > MAX_STRING:
            raise EvalError(f"regex replacement result longer than {MAX_STRING} characters")
        last_end = end
        pos = pos + 1 if pos + 1 > end else end
    out.append(src[last_end:])
    return "".join(out)


def wildcard_match(pattern: str, name: str) -> bool:
    """Kyverno's wildcard.Match: whole-string glob where `*` is any run and `?` exactly one character."""
    p = n = 0
    star = -1
    mark = 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]) and pattern[p] != "*":
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p
            mark = n
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)
