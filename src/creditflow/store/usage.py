"""Repository of what an account spent, summed in the database by day and by job operation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, select

from creditflow.domain.kinds import EntryType
from creditflow.store.tables import entries, jobs

SPENDING = (EntryType.CONSUME.value, EntryType.CAPTURE.value)
"""The entries that spend credits: a direct consume, and a hold's captured part (a released
hold moves credits back and forth and spends nothing)."""


@dataclass(frozen=True, slots=True)
class DaySpend:
    day: int
    """The index of the day in the window, 0 for the first."""
    operation: str | None
    """The operation of the job whose hold was captured; None when not spent by a job."""
    credits: int


class UsageRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def spent_by_day(
        self, account_id: str, *, since: datetime, day_ends: Sequence[datetime]
    ) -> list[DaySpend]:
        """Credits spent from `since` to the last of `day_ends`, day by day: an entry belongs
        to the first day that ends after it.

        The days' ends come in as instants, so a day is the site's calendar day (23 or 25 hours
        long across a change of clocks) on both databases alike. A capture is a job's when its
        hold is the job's hold: a hold placed through the API that only names a job in its
        reference stays "not a job".
        """
        if not day_ends:
            return []
        day = case(
            *((entries.c.at < end, index) for index, end in enumerate(day_ends)),
            else_=len(day_ends),
        )
        job = and_(jobs.c.id == entries.c.reference, jobs.c.hold_id == entries.c.hold_id)
        spent = (
            select(
                day.label("day"),
                jobs.c.operation.label("operation"),
                entries.c.amount.label("amount"),
            )
            .select_from(entries.outerjoin(jobs, job))
            .where(
                entries.c.account_id == account_id,
                entries.c.type.in_(SPENDING),
                entries.c.at >= since,
                entries.c.at < day_ends[-1],
            )
            .subquery()
        )
        # Grouped outside: the day's CASE carries a parameter per day, which PostgreSQL would
        # not match between the select list and a GROUP BY of its own.
        rows = self._connection.execute(
            select(spent.c.day, spent.c.operation, func.sum(spent.c.amount))
            .group_by(spent.c.day, spent.c.operation)
            .order_by(spent.c.day, spent.c.operation)
        )
        return [
            DaySpend(day=int(index), operation=operation, credits=int(total))
            for index, operation, total in rows
        ]
