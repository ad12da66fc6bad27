"""Kyverno's time_* JMESPath functions (pkg/jp/kyverno/time.go) on Go time semantics."""

from __future__ import annotations

from jmespath.functions import signature

from bot.core.policy import gotime
from bot.core.policy.quantity import parse_duration

_STR = {"types": ["string"]}


def _time(text: str, layout: str = "") -> gotime.GoTime:
    return gotime.parse(layout or gotime.RFC3339, text)


class TimeFunctions:
    """Mixin: times are RFC 3339 strings, durations Go duration strings ("1h0m0s")."""

    @signature()
    def _func_time_now(self) -> str:
        return gotime.now().rfc3339()

    @signature()
    def _func_time_now_utc(self) -> str:
        return gotime.now(utc=True).rfc3339()

    @signature(_STR, _STR, _STR)
    def _func_time_since(self, layout: str, start: str, end: str) -> str:
        t1 = _time(start, layout)
        t2 = _time(end, layout) if end else gotime.now()
        return gotime.sub(t2, t1)

    @signature(_STR)
    def _func_time_to_cron(self, value: str) -> str:
        _, month, day, hour, minute, _, weekday = _time(value).fields()
        return f"{minute} {hour} {day} {month} {weekday}"

    @signature(_STR, _STR)
    def _func_time_add(self, value: str, duration: str) -> str:
        t = _time(value)
        return gotime.GoTime(t.ns + parse_duration(duration), t.offset).rfc3339()

    @signature(_STR, _STR)
    def _func_time_parse(self, layout: str, value: str) -> str:
        return gotime.parse(layout, value).rfc3339()

    @signature(_STR)
    def _func_time_utc(self, value: str) -> str:
        return gotime.GoTime(_time(value).ns, 0).rfc3339()

    @signature(_STR, _STR)
    def _func_time_diff(self, start: str, end: str) -> str:
        return gotime.sub(_time(end), _time(start))

    @signature(_STR, _STR)
    def _func_time_before(self, a: str, b: str) -> bool:
        return _time(a).ns < _time(b).ns

    @signature(_STR, _STR)
    def _func_time_after(self, a: str, b: str) -> bool:
        return _time(a).ns > _time(b).ns

    @signature(_STR, _STR, _STR)
    def _func_time_between(self, value: str, start: str, end: str) -> bool:
        t = _time(value).ns
        return _time(start).ns < t < _time(end).ns

    @signature(_STR, _STR)
    def _func_time_truncate(self, value: str, duration: str) -> str:
        return gotime.truncate(_time(value), parse_duration(duration)).rfc3339()

