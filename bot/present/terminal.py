"""Print a Report for people (text), machines (json) or GitHub Actions (workflow commands)."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import groupby

from bot.core.report import Report

_COLOURS = {"error": "31", "warning": "33", "notice": "36", "dim": "2", "bold": "1", "ok": "32"}
_LEVELS = {"error": "error", "warning": "warning", "notice": "notice"}


def _paint(text: str, colour: str, on: bool) -> str:
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m" if on else text


def text(report: Report, read: Callable[[str], bytes | None], *, colour: bool = False,
         diff: bool = True) -> str:
    """Grouped by file; each finding with the offending line and a caret under its column."""
    out: list[str] = []
    cache: dict[str, list[str]] = {}
    for path, group in groupby(report.sorted_findings(), key=lambda f: f.path):
        out.append(_paint(path, "bold", colour))
        if path not in cache:
            raw = read(path) if not path.startswith("<") else None
            cache[path] = (raw or b"").decode("utf-8", "replace").splitlines()
        lines = cache[path]
        for f in group:
            out.append(f"  {f.line}:{f.column}  {_paint(f.severity, f.severity, colour)}  {f.message}  "
                       f"{_paint('[' + f.rule + ']', 'dim', colour)}")
            if 0 < f.line <= len(lines) and lines[f.line - 1].strip():
                src = lines[f.line - 1]
                out.append(_paint(f"    {f.line:>4} | ", "dim", colour) + src)
                out.append(" " * (11 + max(f.column - 1, 0)) + _paint("^", f.severity, colour))
        out.append("")
    for env in report.preview:
        out.append(_paint(f"{env.env}: {env.count('added')} added, {env.count('changed')} changed, "
                          f"{env.count('removed')} removed", "bold", colour))
        for change in env.changes:
            out.append(f"  {change.status:<8} {change.path}")
        if diff:
            out.append("".join(c.diff for c in env.changes).rstrip("\n"))
        out.append("")
    counts = ", ".join(f"{report.count(s)} {s}(s)" for s in ("error", "warning", "notice"))
    verdict = {"success": "ok", "neutral": "warning", "failure": "error"}[report.conclusion]
    for note in report.notes:
        out.append(note)
    out.append(_paint(f"{report.conclusion}: {counts}", verdict, colour))
    return "\n".join(out) + "\n"


def as_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then a summary line."""
    out = []
    for f in report.sorted_findings():
        props = (f"file={_escape_property(f.path)},line={f.line},col={f.column},"
                 f"title={_escape_property(f.rule)}")
        out.append(f"::{_LEVELS[f.severity]} {props}::{_escape_data(f.message)}")
    out.append(f"pledge: {report.conclusion} ({report.count('error')} error(s), "
               f"{report.count('warning')} warning(s))")
    return "\n".join(out) + "\n"
