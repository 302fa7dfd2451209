"""Calendar arithmetic for billing periods, monthly cycles and days.

Months are anchored to the purchase instant, as Stripe anchors its billing cycle: a plan bought
on 31 January renews on 28 (or 29) February, then on 31 March, because every boundary is computed
from the anchor (anchor + n months), never from the previous boundary. The arithmetic is done in
UTC. Days, for daily credits, are the site's calendar days in its timezone.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Interval = Literal["month", "year"]
MONTHS_PER_INTERVAL: dict[str, int] = {"month": 1, "year": 12}


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole calendar months, the day clamped to the target month's length."""
    anchor = anchor.astimezone(UTC)
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def cycle_index_at(anchor: datetime, instant: datetime) -> int:
    """The k with anchor + k months <= instant < anchor + k+1 months: the cycle under way."""
    months = (instant.year - anchor.year) * 12 + instant.month - anchor.month
    months = max(months, 0)
    while months > 0 and add_months(anchor, months) > instant:
        months -= 1
    while add_months(anchor, months + 1) <= instant:
        months += 1
    return months


def period_at(anchor: datetime, months: int, instant: datetime) -> tuple[datetime, datetime]:
    """The billing period of `months` months, counted from the anchor, that holds `instant`."""
    period = cycle_index_at(anchor, instant) // months
    return add_months(anchor, period * months), add_months(anchor, (period + 1) * months)


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def next_local_midnight(instant: datetime, zone: ZoneInfo) -> datetime:
    """The start of the next calendar day in `zone`, as a UTC instant (DST-safe)."""
    tomorrow = local_day(instant, zone) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone).astimezone(UTC)


def local_month(instant: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month in `zone` that contains `instant`, as UTC instants [start, end)."""
    local = instant.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    return start.astimezone(UTC), datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
