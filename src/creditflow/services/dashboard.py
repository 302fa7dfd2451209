"""The console's dashboard: the last weeks of credits, money, refund requests and disputes.

Each figure is one grouped query (by day in UTC), so the dashboard costs the same on a young
database and on an old one with millions of entries.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from creditflow.services.disputes import dispute_view
from creditflow.services.views import DisputeView
from creditflow.store.tables import entries, payment_refunds, payments
from creditflow.store.uow import UnitOfWork

AGES = (("under a day", 1), ("1 to 3 days", 3), ("3 to 5 days", 5), ("over 5 days", None))


@dataclass(frozen=True, slots=True)
class Dashboard:
    days: list[date]
    granted: dict[str, dict[date, int]]
    """Credits granted per day, by kind."""
    spent: dict[str, dict[date, int]]
    revenue: dict[date, int]
    """Money taken per day (minor units of the site's currency)."""
    refunded: dict[date, int]
    currency: str
    open_by_age: list[tuple[str, int]]
    overdue: int
    outcomes: list[tuple[str, str, int]]
    """Decided requests in the window: (the rule that made the recommendation, decision, count)."""
    disputes: list[DisputeView]


def dashboard(uow: UnitOfWork, *, now: datetime, days: int, currency: str) -> Dashboard:
    since = now - timedelta(days=days)
    span = [(since + timedelta(days=n + 1)).date() for n in range(days)]
    return Dashboard(
        days=span,
        granted=_credits_by_day(uow, since, ("grant",)),
        spent=_credits_by_day(uow, since, ("consume", "capture")),
        revenue=_money_by_day(uow, since, refunds=False),
        refunded=_money_by_day(uow, since, refunds=True),
        currency=currency,
        open_by_age=_open_by_age(uow, now),
        overdue=sum(1 for r in uow.refund_requests.open_by_due() if r.overdue),
        outcomes=_outcomes(uow, since),
        disputes=[dispute_view(uow, d) for d in uow.disputes.listed(status="open", limit=20)],
    )


def _day(uow: UnitOfWork, column: ColumnElement[datetime]) -> ColumnElement[str]:
    if uow.connection.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)


def _credits_by_day(
    uow: UnitOfWork, since: datetime, types: tuple[str, ...]
) -> dict[str, dict[date, int]]:
    day = _day(uow, entries.c.at)
    rows = uow.connection.execute(
        select(day, entries.c.kind, func.sum(entries.c.amount))
        .where(entries.c.at >= since, entries.c.type.in_(types))
        .group_by(day, entries.c.kind)
    )
    found: dict[str, dict[date, int]] = defaultdict(dict)
    for when, kind, amount in rows:
        found[kind][date.fromisoformat(when)] = int(amount)
    return dict(found)


def _money_by_day(uow: UnitOfWork, since: datetime, *, refunds: bool) -> dict[date, int]:
    table = payment_refunds if refunds else payments
    stamp = table.c.updated_at if refunds else table.c.created_at
    day = _day(uow, stamp)
    rows = uow.connection.execute(
        select(day, func.sum(table.c.amount))
        .where(stamp >= since, table.c.status == "succeeded")
        .group_by(day)
    )
    return {date.fromisoformat(when): int(amount) for when, amount in rows}


def _open_by_age(uow: UnitOfWork, now: datetime) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for request in uow.refund_requests.open_by_due():
        age = (now - request.created_at).days
        label = next(name for name, limit in AGES if limit is None or age < limit)
        counts[label] += 1
    return [(name, counts[name]) for name, _ in AGES]


def _outcomes(uow: UnitOfWork, since: datetime) -> list[tuple[str, str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for request in uow.refund_requests.decided_since(since):
        rules = json.loads(request.recommendation)["rules"]
        deciding = rules[-1]["rule"] if rules else "none"
        decision = json.loads(request.decision or "{}").get("outcome", "?")
        counts[(deciding, decision)] += 1
    return [(rule, outcome, n) for (rule, outcome), n in sorted(counts.items())]
