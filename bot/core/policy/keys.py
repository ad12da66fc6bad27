"""The assertion-tree key and leaf grammar of kyverno-json (`expression.Parse`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPILER_JP = "jp"
COMPILER_CEL = "cel"
COMPILER_DEFAULT = "default"

# Go's RE2 classes are ASCII-only and `$` means end of text: spell both out for Python's `re`.
_W = "[0-9A-Za-z_]"
_S = "[\t\n\f\r ]"
_FOREACH = re.compile(rf"^~({_W}+)?\.(.*)")
_BINDING = re.compile(rf"(.*){_S}*->{_S}*({_W}+)\Z")
_ESCAPE = re.compile(r"^\\(.+)\\\Z")
_COMPILER = re.compile(rf"^\((?:({_W}+);)?(.+)\)\Z")


@dataclass(frozen=True)
class KeyExpr:
    """A parsed key or leaf: `~name.` foreach, `(compiler;statement)`, `-> binding`."""

    foreach: bool
    foreach_name: str
    statement: str
    binding: str
    compiler: str  # "" (plain key / literal), "default", or the name given as `(name;...)`


def parse_key(text: str) -> KeyExpr:
    """Split a tree key or leaf string into its parts, in kyverno-json's order: foreach, binding, escape, compiler."""
    foreach = False
    foreach_name = ""
    binding = ""
    compiler = ""
    m = _FOREACH.search(text)
    if m:
        foreach = True
        foreach_name = m.group(1) or ""
        text = m.group(2)
    m = _BINDING.search(text)
    if m:
        binding = m.group(2)
        text = m.group(1)
    m = _ESCAPE.search(text)
    if m:
        text = m.group(1)
    else:
        m = _COMPILER.search(text)
        if m:
            compiler = m.group(1) or COMPILER_DEFAULT
            text = m.group(2)
    return KeyExpr(foreach, foreach_name, text, binding, compiler)


def resolve_compiler(name: str, default: str) -> str | None:
    """The compiler a key uses: jp, cel, or None for a plain lookup (no or unknown compiler)."""
    if name == COMPILER_DEFAULT:
        return default
    if name in (COMPILER_JP, COMPILER_CEL):
        return name
    return None
