"""Upgrade one request file along a chain of migrations: bytes in, bytes out, or a refusal that says why.

The steps run on the plain data first: that is the meaning, the refusal and the notes. The bytes are then
made by the text editor (bot.core.yamledit: untouched entries are copied byte for byte) or, when it declines,
by ruamel.yaml's round trip (comments, key order and quoting survive there too). Either result must load as
exactly the migrated data, or the request is refused: a file is never rewritten into something else. The
`apiVersion` and the `yaml-language-server` modeline are updated.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from bot.core import yamledit
from bot.core.migrations import Migration, Path, Refusal, Stage, apply, same
from bot.core.yamlfile import Document, YamlProblem, load

ENGINES = ("auto", "text", "ruamel")
MODELINE = re.compile(r"^(#\s*yaml-language-server:\s*\$schema=)(\S+)(.*)$")


@dataclass(frozen=True)
class Upgraded:
    """The upgraded file, what people should know about it, and which engine wrote it."""

    data: bytes
    notes: tuple[str, ...]
    engine: str
    document: Document | None = field(default=None, compare=False, repr=False)  # `data` loaded, for reuse


@dataclass(frozen=True)
class Refused:
    """The file stays as it is: why, and where in it."""

    reason: str
    line: int = 1
    column: int = 1


def migrate(raw: bytes, chain: Sequence[Migration], *, group: str, engine: str = "auto",
            doc: Document | None = None) -> Upgraded | Refused:
    """Apply `chain` (v1->v2, v2->v3, ...) to a request file of `chain[0]`'s version (`doc`: `raw` loaded
    already by bot.core.yamlfile.load, when the caller has it)."""
    if not chain:
        return Refused("no migration to apply")
    if doc is None:
        try:
            doc = load(raw)
        except YamlProblem as exc:
            return Refused(exc.message, exc.line, exc.column)
    data = copy.deepcopy(doc.data)
    stages: list[Stage] = []
    try:
        for migration in chain:
            stages.append(apply(migration, data))
    except Refusal as exc:
        line, col = doc.mark(exc.path)
        return Refused(exc.message, line, col)
    api_version = f"{group}/{chain[-1].target}"
    data["apiVersion"] = api_version
    text, notes = _modeline(raw.decode("utf-8"), chain)
    notes = [n for stage in stages for n in stage.notes] + notes

    def resolve(path: Path) -> Path | None:
        origin: Path | None = path
        for stage in reversed(stages):
            origin = stage.source_of(origin) if origin is not None else None
        return origin

    if engine in ("auto", "text"):
        try:
            out: str | None = yamledit.rewrite(text, doc.data, data, resolve)
            if out is not None and (held := _holds(out, data)):
                return Upgraded(out.encode(), tuple(notes), "text", held)
        except yamledit.Unsupported:
            pass
        if engine == "text":
            return Refused("the text editor cannot make this change")
    out = _round_trip(text, chain, api_version)
    if out is not None and (held := _holds(out, data)):
        return Upgraded(out.encode(), tuple(notes), "ruamel", held)
    return Refused("the rewritten file would not hold the migrated request (a bug: please report it); "
                   "upgrade this file by hand")


def _holds(text: str, data: Any) -> Document | None:
    """`text` loaded, if it holds exactly `data`."""
    try:
        doc = load(text.encode())
    except YamlProblem:
        return None
    return doc if same(doc.data, data) else None


def _modeline(text: str, chain: Sequence[Migration]) -> tuple[str, list[str]]:
    """Point the editor's schema line at the new version's published schema (`<offering>.<version>.json`)."""
    lines = text.split("\n")
    old = f"{chain[0].offering}.{chain[0].source}.json"
    new = f"{chain[-1].offering}.{chain[-1].target}.json"
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        match = MODELINE.match(line)
        if match is None:
            continue
        ref = match[2]
        if ref == old or ref.endswith("/" + old):
            lines[i] = match[1] + ref[: len(ref) - len(old)] + new + match[3]
            return "\n".join(lines), []
        return text, [f"the yaml-language-server line points to {ref}, not to a published {old}: "
                      "update it by hand"]
    return text, []


def _restyle(old: Any, new: Any) -> Any:
    """A replaced string keeps the old one's quotes."""
    if isinstance(new, str) and isinstance(old, (SingleQuotedScalarString, DoubleQuotedScalarString)):
        return type(old)(new)
    return new


def _round_trip(text: str, chain: Sequence[Migration], api_version: str) -> str | None:
    """The same steps on ruamel.yaml's round-trip nodes, dumped with the file's own indentation."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        _, mapping, offset = load_yaml_guess_indent(text)
        root = yaml.load(text)
        yaml.indent(mapping=mapping or 2, sequence=(mapping or 2) + (offset or 0), offset=offset or 0)
        for migration in chain:
            apply(migration, root, new_map=CommentedMap, restyle=_restyle)
        root["apiVersion"] = _restyle(root["apiVersion"], api_version)
        out = io.StringIO()
        yaml.dump(root, out)
    except (RuamelError, Refusal, ValueError, TypeError):
        return None
    return out.getvalue()
