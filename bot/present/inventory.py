"""Print an inventory as a table for people, JSON, or CSV (one row per request) for spreadsheets."""

from __future__ import annotations

import csv
import io
import json

from bot.core.inventory import Inventory, Row, VersionCount

COLUMNS = ("env", "team", "name", "offering", "apiVersion", "lifecycle", "age", "lastChange", "labels")
CSV_COLUMNS = ("path", "env", "team", "name", "kind", "offering", "apiVersion", "lifecycle", "successor", "sunset",
               "labels", "created", "lastChange", "ageDays")


def _state(lifecycle: str, sunset: object, successor: str | None) -> str:
    """`deprecated (sunset 2027-06-30, -> pledge.dev/v2)`; other states as they are."""
    extra = []
    if lifecycle in ("deprecated", "sunset", "retired"):
        extra = ([f"sunset {sunset}"] if sunset else []) + ([f"-> {successor}"] if successor else [])
    return f"{lifecycle} ({', '.join(extra)})" if extra else lifecycle


def _labels(row: Row) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(row.labels.items()))


def _cells(row: Row, inv: Inventory) -> list[str]:
    age = row.age_days(inv.today)
    return [row.env, row.team, row.name, row.offering or "?", row.api_version or "?",
            _state(row.lifecycle, row.sunset, row.successor), "" if age is None else f"{age}d",
            row.changed.date().isoformat() if row.changed else "", _labels(row)]


def _count(count: VersionCount) -> list[str]:
    return [count.offering or "?", count.api_version, count.kind,
            _state(count.lifecycle, count.sunset, count.successor), str(count.requests)]


def _table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [list(header), *rows]]


def text(inv: Inventory) -> str:
    out = _table([c.upper() for c in COLUMNS], [_cells(r, inv) for r in inv.rows])
    out += ["", *_table(["OFFERING", "VERSION", "KIND", "LIFECYCLE", "REQUESTS"], [_count(c) for c in inv.counts])]
    if not inv.history:
        out.append("(not a git repository: no ages or last changes)")
    out.append(f"{len(inv.rows)} request(s) on {inv.today.isoformat()}")
    return "\n".join(out) + "\n"


def as_json(inv: Inventory) -> str:
    data = {
        "today": inv.today.isoformat(),
        "history": inv.history,
        "requests": [r.to_json(inv.today) for r in inv.rows],
        "counts": [{"offering": c.offering, "apiVersion": c.api_version, "kind": c.kind, "lifecycle": c.lifecycle,
                    "successor": c.successor, "sunset": c.sunset.isoformat() if c.sunset else None,
                    "requests": c.requests} for c in inv.counts],
    }
    return json.dumps(data, indent=2) + "\n"


def as_csv(inv: Inventory) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in inv.rows:
        data = row.to_json(inv.today)
        data["labels"] = ";".join(f"{k}={v}" for k, v in sorted(row.labels.items()))
        writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
    return buffer.getvalue()
