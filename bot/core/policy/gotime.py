"""Go `time` semantics for Kyverno's time_* functions: RFC 3339, Go layouts, Truncate, Duration strings."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import datetime

from bot.core.policy.model import EvalError
from bot.core.policy.quantity import format_duration

_NS = 1_000_000_000
_DAY = 86_400
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MAX_DUR = (1 << 63) - 1
RFC3339 = "2006-01-02T15:04:05Z07:00"


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


@dataclass(frozen=True)
class GoTime:
    """An instant (nanoseconds since the Unix epoch) and the UTC offset it is shown in."""

    ns: int
    offset: int = 0

    def fields(self) -> tuple[int, int, int, int, int, int, int]:
        """(year, month, day, hour, minute, second, weekday) in the time's own offset."""
        secs = (self.ns // _NS) + self.offset
        days, rem = divmod(secs, _DAY)
        y, m, d = civil_from_days(days)
        return y, m, d, rem // 3600, rem // 60 % 60, rem % 60, (days + 4) % 7

    def rfc3339(self) -> str:
        y, mo, d, h, mi, s, _ = self.fields()
        if self.offset == 0:
            zone = "Z"
        else:
            sign = "-" if self.offset < 0 else "+"
            off = abs(self.offset) // 60
            zone = f"{sign}{off // 60:02d}:{off % 60:02d}"
        return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{zone}"


def now(utc: bool = False) -> GoTime:
    ns = _time.time_ns()
    if utc:
        return GoTime(ns, 0)
    local = datetime.fromtimestamp(ns // _NS).astimezone().utcoffset()
    return GoTime(ns, int(local.total_seconds()) if local else 0)


def sub(t2: GoTime, t1: GoTime) -> str:
    """t2.Sub(t1).String(), saturating like Go."""
    return format_duration(max(-(1 << 63), min(_MAX_DUR, t2.ns - t1.ns)))


def truncate(t: GoTime, d: int) -> GoTime:
    """Time.Truncate: round down to a multiple of d since the zero time (0001-01-01 UTC)."""
    if d <= 0:
        return t
    zero = days_from_civil(1, 1, 1) * _DAY * _NS
    return GoTime(t.ns - (t.ns - zero) % d, t.offset)


# --- layouts ------------------------------------------------------------------------------------------------

_STD = ["January", "Jan", "Monday", "Mon", "MST", "2006", "002", "01", "02", "03", "04", "05", "06", "15", "__2",
        "_2", "1", "2", "3", "4", "5", "PM", "pm", "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07", "-07:00:00",
        "-070000", "-07:00", "-0700", "-07"]


def _chunks(layout: str) -> list[tuple[bool, str]]:
    """Split a Go layout into (is_std, text) chunks, longest standard element first."""
    out: list[tuple[bool, str]] = []
    i = 0
    while i < len(layout):
        if layout[i] in ".," and i + 1 < len(layout) and layout[i + 1] in "09":
            j = i + 1
            while j < len(layout) and layout[j] == layout[i + 1]:
                j += 1
            if not (j < len(layout) and layout[j].isdigit()):
                out.append((True, layout[i:j]))
                i = j
                continue
        for std in _STD:
            if layout.startswith(std, i):
                out.append((True, std))
                i += len(std)
                break
        else:
            out.append((False, layout[i]))
            i += 1
    return out


def _num(value: str, pos: int, lo: int, hi: int) -> tuple[int, int]:
    j = pos
    while j < len(value) and j - pos < hi and value[j].isdigit() and value[j].isascii():
        j += 1
    if j - pos < lo:
        raise ValueError("bad number")
    return int(value[pos:j]), j


def _name(value: str, pos: int, names: list[str], short: bool) -> tuple[int, int]:
    for idx, name in enumerate(names):
        text = name[:3] if short else name
        if value[pos:pos + len(text)].lower() == text.lower():
            return idx, pos + len(text)
    raise ValueError("bad name")


def _zone(value: str, pos: int, std: str) -> tuple[int, int]:
    if std.startswith("Z") and value[pos:pos + 1] == "Z":
        return 0, pos + 1
    if value[pos:pos + 1] not in ("+", "-"):
        raise ValueError("bad zone")
    sign = -1 if value[pos] == "-" else 1
    colon = ":" in std
    parts = 1 + (len(std.replace(":", "")) - 3) // 2
    secs, j = 0, pos + 1
    for k, unit in enumerate((3600, 60, 1)[:parts]):
        if k and colon:
            if value[j:j + 1] != ":":
                raise ValueError("bad zone")
            j += 1
        n, j2 = _num(value, j, 2, 2)
        secs, j = secs + n * unit, j2
    return sign * secs, j


def parse(layout: str, value: str) -> GoTime:
    """time.Parse(layout, value) for the common layout elements; raises EvalError."""
    year, month, day, hour, minute, sec, frac, yday = 0, 1, 1, 0, 0, 0, 0, -1
    offset, pm = 0, None
    pos = 0
    chunks = _chunks(layout)
    try:
        for idx, (std, text) in enumerate(chunks):
            if not std:
                if value[pos:pos + 1] != text:
                    raise ValueError("literal")
                pos += 1
            elif text == "2006":
                year, pos = _num(value, pos, 4, 4)
            elif text == "06":
                year, pos = _num(value, pos, 2, 2)
                year += 1900 if year >= 69 else 2000
            elif text in ("01", "1"):
                month, pos = _num(value, pos, len(text), 2)
            elif text in ("January", "Jan"):
                month, pos = _name(value, pos, _MONTHS, text == "Jan")
                month += 1
            elif text in ("Monday", "Mon"):
                _, pos = _name(value, pos, _DAYS, text == "Mon")
            elif text in ("02", "2", "_2"):
                if text == "_2" and value[pos:pos + 1] == " ":
                    pos += 1
                day, pos = _num(value, pos, 2 if text == "02" else 1, 2)
            elif text in ("002", "__2"):
                while text == "__2" and value[pos:pos + 1] == " ":
                    pos += 1
                yday, pos = _num(value, pos, 3 if text == "002" else 1, 3)
            elif text in ("15", "03", "3"):
                hour, pos = _num(value, pos, 2 if text == "03" else 1, 2)
                if text != "15":
                    pm = pm if pm is not None else False
            elif text in ("04", "4"):
                minute, pos = _num(value, pos, 2 if text == "04" else 1, 2)
            elif text in ("05", "5"):
                sec, pos = _num(value, pos, 2 if text == "05" else 1, 2)
                nxt = chunks[idx + 1] if idx + 1 < len(chunks) else (False, "")
                if value[pos:pos + 1] in (".", ",") and value[pos + 1:pos + 2].isdigit() and not (
                        nxt[0] and nxt[1][0] in ".,"):
                    frac, pos = _fraction(value, pos + 1, 1, 100)
            elif text[0] in ".,":
                if text[1] == "0":
                    if value[pos:pos + 1] not in ".,":
                        raise ValueError("fraction")
                    frac, pos = _fraction(value, pos + 1, len(text) - 1, len(text) - 1)
                elif value[pos:pos + 1] in ".," and value[pos + 1:pos + 2].isdigit():
                    frac, pos = _fraction(value, pos + 1, 1, 100)
            elif text in ("PM", "pm"):
                word = value[pos:pos + 2].upper()
                if word not in ("AM", "PM"):
                    raise ValueError("ampm")
                pm, pos = word == "PM", pos + 2
            elif text == "MST":
                j = pos
                while j < len(value) and value[j].isupper() and j - pos < 5:
                    j += 1
                if j - pos < 3:
                    raise ValueError("zone")
                pos = j
            else:
                offset, pos = _zone(value, pos, text)
    except (ValueError, IndexError):
        raise EvalError(f'parsing time "{value}" as "{layout}": cannot parse') from None
    if pos != len(value):
        raise EvalError(f'parsing time "{value}": extra text: "{value[pos:]}"')
    if pm is not None:
        if not 1 <= hour <= 12:
            raise EvalError(f'parsing time "{value}": hour out of range')
        hour = hour % 12 + (12 if pm else 0)
    if yday >= 0:
        if yday < 1 or yday > (366 if _days_in_month(year, 2) == 29 else 365):
            raise EvalError(f'parsing time "{value}": day-of-year out of range')
        days = days_from_civil(year, 1, 1) + yday - 1
    else:
        if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
            raise EvalError(f'parsing time "{value}": day out of range')
        days = days_from_civil(year, month, day)
    if hour > 23 or minute > 59 or sec > 59:
        raise EvalError(f'parsing time "{value}": time out of range')
    secs = days * _DAY + hour * 3600 + minute * 60 + sec - offset
    return GoTime(secs * _NS + frac, offset)


def _fraction(value: str, pos: int, lo: int, hi: int) -> tuple[int, int]:
    """Fractional-second digits at pos, as nanoseconds (digits past the ninth are dropped)."""
    j = pos
    while j < len(value) and j - pos < hi and value[j].isdigit() and value[j].isascii():
        j += 1
    if j - pos < lo:
        raise ValueError("fraction")
    return int(value[pos:j][:9].ljust(9, "0")), j

