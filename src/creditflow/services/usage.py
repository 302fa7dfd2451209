"""What a member spent, day by day in the site's time zone, and on which kind of job.

A day is the site's calendar day (catalog `[site] timezone`), as the daily claim counts days:
a spend at 23:30 UTC is the next day's in Berlin. Spent means consumed directly or captured
from a job's hold; a hold that was released (the job failed or timed out) spent nothing. A
spend belongs to the operation of the job whose hold it captured; anything else (a `consume`
call, a hold placed through the API) is "other". The sums are one grouped query, so an
account with a hundred thousand entries costs what one with ten does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from creditflow.domain.errors import InvalidRequest
from creditflow.services.accounts import require_account
from creditflow.store.uow import UnitOfWork
from creditflow.store.usage import UsageRepository

MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Spending:
    days: list[date]
    """The window's days in the site's zone, oldest first; the last is today."""
    by_operation: dict[str, dict[date, int]]
    """Credits spent by jobs, by operation then day; days with nothing are absent."""
    other: dict[date, int]
    """Credits spent not by a job, by day."""

    @property
    def total(self) -> int:
        return sum(self.other.values()) + sum(
            sum(values.values()) for values in self.by_operation.values()
        )

    def on(self, day: date) -> int:
        """Everything spent on `day` (0 for a day with nothing)."""
        return self.other.get(day, 0) + sum(v.get(day, 0) for v in self.by_operation.values())


def spent_by_day(
    uow: UnitOfWork, *, account_id: str, now: datetime, days: int, zone: ZoneInfo
) -> Spending:
    """The last `days` days up to and including today, each day from its local midnight."""
    if isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"days must be from 1 to {MAX_DAYS}.", field="days")
    require_account(uow, account_id)
    today = now.astimezone(zone).date()
    span = [today - timedelta(days=days - 1 - n) for n in range(days)]
    rows = UsageRepository(uow.connection).spent_by_day(
        account_id,
        since=start_of(span[0], zone),
        day_ends=[start_of(day + timedelta(days=1), zone) for day in span],
    )
    by_operation: dict[str, dict[date, int]] = defaultdict(dict)
    other: dict[date, int] = {}
    for row in rows:
        bucket = other if row.operation is None else by_operation[row.operation]
        bucket[span[row.day]] = row.credits
    return Spending(days=span, by_operation=dict(by_operation), other=other)


def start_of(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` begins in `zone` (where clocks skip midnight, the first instant after)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
