"""Offering version lifecycles: deprecation, sunset and retirement of a version, judged on an injectable date."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from bot.core.report import Finding, error, warning

STATES = ("alpha", "beta", "stable", "deprecated", "retired")
TODAY_ENV = "PLEDGE_TODAY"  # the clock, for tests, demos and "what happens after the sunset" rehearsals
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def today(environ: Mapping[str, str] | None = None) -> date:
    """The date lifecycles are judged on: $PLEDGE_TODAY (YYYY-MM-DD) when set, else the system's date."""
    value = (os.environ if environ is None else environ).get(TODAY_ENV, "").strip()
    if not value:
        return date.today()
    return parse_date(value, TODAY_ENV)


def parse_date(value: str, what: str) -> date:
    """An ISO date (YYYY-MM-DD) or ValueError naming `what`."""
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}={value!r} is not an ISO date (YYYY-MM-DD)") from None


class Version(Protocol):
    """What lifecycles need of an offering version (bot.core.catalog.Offering has it)."""

    name: str
    version: str
    kind: str
    meta: dict[str, Any]
    schema_path: str
    marks: dict[str, tuple[int, int]]

    @property
    def api_version(self) -> str: ...


@dataclass(frozen=True)
class Lifecycle:
    """One version's place in its life: state, successor (an apiVersion) and sunset date."""

    state: str = "stable"
    successor: str | None = None
    sunset: date | None = None

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> Lifecycle:
        sunset = meta.get("sunset")
        return cls(str(meta.get("lifecycle", "stable")), meta.get("successor"),
                   date.fromisoformat(sunset) if isinstance(sunset, str) and _ISO_DATE.match(sunset) else None)

    def status(self, on: date) -> str:
        """state, except `sunset` for a deprecated version whose sunset date has passed."""
        if self.state == "deprecated" and self.sunset is not None and on > self.sunset:
            return "sunset"
        return self.state


def upgrade_hint(offering: Version, successor: str | None) -> str:
    if not successor:
        return ""
    return f" (`pledge upgrade --offering {offering.name} --to {successor.rsplit('/', 1)[-1]}` rewrites the file)"


def request_findings(path: str, where: tuple[int, int], offering: Version, *, new: bool,
                     on: date) -> list[Finding]:
    """What a request on `offering` is told about the version's lifecycle (at its apiVersion line).

    deprecated: a warning naming the successor and the sunset date; after the sunset a *new* request fails and
    an existing one gets a louder warning; retired: every request fails.
    """
    life = Lifecycle.of(offering.meta)
    line, col = where
    what = f"{offering.kind} {offering.api_version}"
    owners = ", ".join(offering.meta.get("owners") or []) or "the platform team"
    move = (f"move to {life.successor}" if life.successor
            else f"it has no successor yet: ask {owners} what replaces it")
    hint = upgrade_hint(offering, life.successor)
    status = life.status(on)
    if status == "retired":
        return [error(path, line, col, "lifecycle.retired",
                      f"{what} is retired and takes no requests: {move}{hint}")]
    if status == "sunset":
        assert life.sunset is not None
        if new:
            return [error(path, line, col, "lifecycle.sunset",
                          f"{what} passed its sunset on {life.sunset} and takes no new requests: {move}{hint}")]
        days = (on - life.sunset).days
        return [warning(path, line, col, "lifecycle.sunset",
                        f"SUNSET PASSED: {what} passed its sunset on {life.sunset} ({days} day(s) ago) and may be "
                        f"retired at any time, which stops this request from rendering: {move} now{hint}")]
    if status == "deprecated":
        after = f"; new requests are refused after its sunset on {life.sunset}" if life.sunset else ""
        return [warning(path, line, col, "lifecycle.deprecated", f"{what} is deprecated: {move}{hint}{after}")]
    return []


def catalog_findings(versions: Iterable[Version]) -> list[Finding]:
    """Lifecycle metadata that does not hold together: a sunset on a live version, an unknown successor."""
    versions = list(versions)
    by_kind: dict[str, set[str]] = {}
    for v in versions:
        by_kind.setdefault(v.kind, set()).add(v.api_version)
    out: list[Finding] = []
    for v in versions:
        life = Lifecycle.of(v.meta)

        def at(key: str, message: str, version: Version = v) -> None:
            line, col = version.marks.get(key, (1, 1))
            out.append(error(version.schema_path, line, col, "catalog.lifecycle", message))

        if life.sunset is not None and life.state not in ("deprecated", "retired"):
            at("sunset", f"x-pledge.sunset is set but lifecycle is {life.state}: only a deprecated version has a "
                         "sunset (set `lifecycle: deprecated`, or remove the sunset)")
        if life.successor is not None:
            known = by_kind[v.kind] - {v.api_version}
            if life.successor not in known:
                at("successor", f"x-pledge.successor {life.successor} is not a version of {v.kind} in the catalog "
                                f"(known: {', '.join(sorted(known)) or 'none'})")
    return out
