"""The whole suite runs on one fixed date, so lifecycle findings (deprecation, sunset) never depend on the day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from bot.core.lifecycle import TODAY_ENV

# before the bundled Postgres v1's sunset (2027-06-30): requests on it warn; tests of later dates set their own
TODAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    monkeypatch.setenv(TODAY_ENV, TODAY.isoformat())
    yield TODAY
