"""Repository of money refunds and disputes (chargebacks) of orders."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditflow.store.fresh_orders import FreshOrders
from creditflow.store.raw_sql import Driver
from creditflow.store.tables import disputes, payment_refunds

FINAL = ("succeeded", "failed")
RUNNING_TOTAL = "total:"
"""Prefix of the record that keeps a provider's running refund total for one payment (Stripe's
`amount_refunded`): bookkeeping beside the single refunds, not a refund of its own."""


@dataclass(frozen=True, slots=True)
class RefundRecord:
    id: str
    order_id: str
    provider: str
    provider_refund_id: str | None
    provider_payment_id: str | None
    amount: int
    status: str
    reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    id: str
    order_id: str
    account_id: str
    provider: str
    provider_dispute_id: str | None
    amount: int
    reason: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    credits_revoked: int = 0
    fee: int = 0


class RefundRepository:
    def __init__(self, connection: Connection, driver: Driver, fresh: FreshOrders) -> None:
        self._connection = connection
        self._driver = driver
        self._fresh = fresh

    def add(self, record: RefundRecord) -> None:
        self._connection.execute(insert(payment_refunds).values(**asdict(record)))
        self._fresh.add_refund(record)

    def get(self, refund_id: str) -> RefundRecord | None:
        row = (
            self._connection.execute(
                select(payment_refunds).where(payment_refunds.c.id == refund_id)
            )
            .mappings()
            .first()
        )
        return RefundRecord(**row) if row else None

    def by_provider_ref(self, provider: str, provider_refund_id: str) -> RefundRecord | None:
        row = (
            self._connection.execute(
                select(payment_refunds).where(
                    payment_refunds.c.provider == provider,
                    payment_refunds.c.provider_refund_id == provider_refund_id,
                )
            )
            .mappings()
            .first()
        )
        return RefundRecord(**row) if row else None

    def of_order(self, order_id: str) -> list[RefundRecord]:
        known = self._fresh.refunds(order_id)
        if known is not None:
            return known
        # Through the driver (store.raw_sql): every renewal's order view lists its refunds.
        rows = self._driver.select(
            payment_refunds, where={"order_id": order_id}, order_by=("created_at", "id")
        )
        return [RefundRecord(**row) for row in rows]

    def update(
        self,
        refund_id: str,
        *,
        now: datetime,
        status: str | None = None,
        amount: int | None = None,
        provider_refund_id: str | None = None,
    ) -> None:
        values: dict[str, object] = {"updated_at": now}
        if status is not None:
            values["status"] = status
        if amount is not None:
            values["amount"] = amount
        if provider_refund_id is not None:
            values["provider_refund_id"] = provider_refund_id
        self._connection.execute(
            update(payment_refunds).where(payment_refunds.c.id == refund_id).values(**values)
        )
        self._fresh.forget()


class DisputeRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: DisputeRecord) -> None:
        self._connection.execute(insert(disputes).values(**asdict(record)))

    def get(self, dispute_id: str) -> DisputeRecord | None:
        row = (
            self._connection.execute(select(disputes).where(disputes.c.id == dispute_id))
            .mappings()
            .first()
        )
        return DisputeRecord(**row) if row else None

    def by_provider_ref(self, provider: str, provider_dispute_id: str) -> DisputeRecord | None:
        row = (
            self._connection.execute(
                select(disputes).where(
                    disputes.c.provider == provider,
                    disputes.c.provider_dispute_id == provider_dispute_id,
                )
            )
            .mappings()
            .first()
        )
        return DisputeRecord(**row) if row else None

    def of_order(self, order_id: str) -> list[DisputeRecord]:
        rows = self._connection.execute(
            select(disputes).where(disputes.c.order_id == order_id).order_by(disputes.c.created_at)
        ).mappings()
        return [DisputeRecord(**row) for row in rows]

    def open_of_account(self, account_id: str) -> list[DisputeRecord]:
        rows = self._connection.execute(
            select(disputes).where(disputes.c.account_id == account_id, disputes.c.status == "open")
        ).mappings()
        return [DisputeRecord(**row) for row in rows]

    def of_account(self, account_id: str) -> list[DisputeRecord]:
        rows = self._connection.execute(
            select(disputes).where(disputes.c.account_id == account_id)
        ).mappings()
        return [DisputeRecord(**row) for row in rows]

    def listed(self, *, status: str | None, limit: int) -> list[DisputeRecord]:
        """Newest first; `open`, or closed (`won`, `lost`), or all."""
        query = select(disputes).order_by(disputes.c.created_at.desc()).limit(limit)
        if status == "closed":
            query = query.where(disputes.c.status != "open")
        elif status is not None:
            query = query.where(disputes.c.status == status)
        return [DisputeRecord(**row) for row in self._connection.execute(query).mappings()]

    def add_revoked(self, dispute_id: str, credits: int) -> None:
        self._connection.execute(
            update(disputes)
            .where(disputes.c.id == dispute_id)
            .values(credits_revoked=disputes.c.credits_revoked + credits)
        )

    def close(self, dispute_id: str, *, status: str, now: datetime) -> None:
        self._connection.execute(
            update(disputes).where(disputes.c.id == dispute_id).values(status=status, closed_at=now)
        )
