"""The one clock of the engine.

Rules never read the time themselves: a use case asks the engine's clock once and passes the
instant down. A test clock moves only when told, which is what makes a year of renewals
replayable in a test.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A clock that stands still until `move_to` moves it; it never goes backwards."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def move_to(self, instant: datetime) -> None:
        instant = as_utc(instant)
        with self._lock:
            if instant > self._now:
                self._now = instant


def as_utc(instant: datetime) -> datetime:
    """Refuse naive datetimes: an instant without a zone is a bug waiting for a DST change."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no timezone")
    return instant.astimezone(UTC)


def format_instant(instant: datetime) -> str:
    """RFC 3339 in UTC with a Z, as the API contract writes times."""
    instant = as_utc(instant)
    if instant.microsecond:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
