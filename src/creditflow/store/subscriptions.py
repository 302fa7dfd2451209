"""Repository of subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.tables import plan_changes, subscriptions

LIVE = ("active", "past_due")


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: str
    account_id: str
    plan: str
    interval: str
    status: str
    provider: str
    anchor: datetime
    current_period_start: datetime
    current_period_end: datetime
    cycle_start: datetime
    cycle_end: datetime
    cancel_at_period_end: bool
    scheduled_plan: str | None
    retries: int
    order_id: str | None
    created_at: datetime
    ended_at: datetime | None
    provider_ref: str | None = None
    """The provider's own subscription id (Stripe `sub_…`, Paddle `sub_…`, Creem)."""
    scheduled_interval: str | None = None
    """An interval change (year to month) that waits for the period end (rule 25)."""

    def evolve(self, **changes: object) -> SubscriptionRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


_COLUMNS = [c for c in subscriptions.c if c.name != "seq"]
# Every renewal reads and saves its subscription: through the driver (store.raw_sql).
_FIELDS = SubscriptionRecord.__slots__
_TIMES = frozenset(
    (
        "anchor",
        "current_period_start",
        "current_period_end",
        "cycle_start",
        "cycle_end",
        "created_at",
        "ended_at",
    )
)
_QUOTED = ", ".join(f'"{name}"' for name in _FIELDS)  # "plan" and "interval" are keywords
_GET = Statement(f"SELECT {_QUOTED} FROM subscriptions WHERE id = :id")
_FIXED = frozenset(("id", "account_id", "created_at"))
"""Never changed once written. Left out of the UPDATE, the account's index entry and its
foreign key are not rewritten and checked again on every renewal."""
_SAVE = Statement(
    "UPDATE subscriptions SET "
    + ", ".join(f'"{name}" = :{name}' for name in _FIELDS if name not in _FIXED)
    + " WHERE id = :id"
)


class SubscriptionRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver
        self._seen: dict[str, SubscriptionRecord] = {}
        """Subscriptions this unit of work read or wrote, as it last saw them: a renewal reads
        its subscription for the cycle, the payment, the invoice and the mail. Every write of
        the table goes through this repository, so a transaction sees its own changes; one that
        read a row before another committed a change to it goes on with what it read, as its
        save would overwrite that change in any case (the account lock serialises writers)."""

    def add(self, record: SubscriptionRecord) -> None:
        self._connection.execute(insert(subscriptions).values(**_values(record)))
        self._seen[record.id] = record

    def save(self, record: SubscriptionRecord) -> None:
        bind_time = self._driver.bind_time
        values = {
            name: bind_time(value) if name in _TIMES else value  # type: ignore[arg-type]
            for name, value in _values(record).items()
        }
        self._driver.execute(_SAVE, values)
        self._seen[record.id] = record

    def get(self, subscription_id: str) -> SubscriptionRecord | None:
        seen = self._seen.get(subscription_id)
        if seen is not None:
            return seen
        row = self._driver.one(_GET, {"id": subscription_id})
        if row is None:
            return None
        read_time = self._driver.read_time
        values: dict[str, Any] = dict(zip(_FIELDS, row, strict=True))
        for name in _TIMES:
            values[name] = read_time(values[name])
        values["cancel_at_period_end"] = bool(values["cancel_at_period_end"])
        record = self._seen[subscription_id] = SubscriptionRecord(**values)
        return record

    def of_account(self, account_id: str) -> list[SubscriptionRecord]:
        """Newest first."""
        rows = self._connection.execute(
            select(*_COLUMNS)
            .where(subscriptions.c.account_id == account_id)
            .order_by(subscriptions.c.seq.desc())
        ).mappings()
        return [SubscriptionRecord(**row) for row in rows]

    def by_provider_ref(self, provider: str, provider_ref: str) -> SubscriptionRecord | None:
        row = (
            self._connection.execute(
                select(*_COLUMNS).where(
                    subscriptions.c.provider == provider,
                    subscriptions.c.provider_ref == provider_ref,
                )
            )
            .mappings()
            .first()
        )
        return SubscriptionRecord(**row) if row else None

    def current(self, account_id: str) -> SubscriptionRecord | None:
        """The subscription that has not ended (incomplete ones included), if any."""
        for record in self.of_account(account_id):
            if record.status != "ended":
                return record
        return None


def _values(record: SubscriptionRecord | PlanChangeRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}


@dataclass(frozen=True, slots=True)
class PlanChangeRecord:
    """An upgrade made at once (rules 10 and 25), kept so a refund of its order can undo it."""

    id: str
    subscription_id: str
    order_id: str
    from_plan: str
    from_interval: str
    to_plan: str
    to_interval: str
    grant_id: str | None
    created_at: datetime
    undone_at: datetime | None


class PlanChangeRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: PlanChangeRecord) -> None:
        self._connection.execute(insert(plan_changes).values(**_values(record)))

    def of_order(self, order_id: str) -> PlanChangeRecord | None:
        row = (
            self._connection.execute(
                select(*_CHANGE_COLUMNS).where(plan_changes.c.order_id == order_id)
            )
            .mappings()
            .first()
        )
        return PlanChangeRecord(**row) if row else None

    def of_subscription(self, subscription_id: str) -> list[PlanChangeRecord]:
        rows = self._connection.execute(
            select(*_CHANGE_COLUMNS)
            .where(plan_changes.c.subscription_id == subscription_id)
            .order_by(plan_changes.c.seq)
        ).mappings()
        return [PlanChangeRecord(**row) for row in rows]

    def latest_of(self, subscription_id: str) -> PlanChangeRecord | None:
        row = (
            self._connection.execute(
                select(*_CHANGE_COLUMNS)
                .where(plan_changes.c.subscription_id == subscription_id)
                .order_by(plan_changes.c.seq.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return PlanChangeRecord(**row) if row else None

    def set_grant(self, change_id: str, grant_id: str) -> None:
        self._connection.execute(
            update(plan_changes).where(plan_changes.c.id == change_id).values(grant_id=grant_id)
        )

    def mark_undone(self, change_id: str, now: datetime) -> None:
        self._connection.execute(
            update(plan_changes).where(plan_changes.c.id == change_id).values(undone_at=now)
        )


_CHANGE_COLUMNS = [c for c in plan_changes.c if c.name != "seq"]
