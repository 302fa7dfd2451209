"""Repository of orders, their items, payments and invoices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, update

from creditflow.store.fresh_orders import FreshOrders
from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.tables import order_items, orders, payments, test_payment_behaviors
from creditflow.store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class OrderItem:
    product: str
    description: str
    credits: int
    amount: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: str
    account_id: str
    kind: str
    status: str
    currency: str
    total: int
    provider: str
    provider_ref: str | None
    checkout_url: str | None
    subscription_id: str | None
    channel: str | None
    created_at: datetime
    paid_at: datetime | None
    tax: int = 0


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: str
    order_id: str
    provider: str
    provider_payment_id: str
    amount: int
    status: str
    duplicate: bool
    created_at: datetime
    fingerprint: str | None = None


_ORDER_COLUMNS = [c for c in orders.c if c.name != "seq"]
# Built once: every renewal runs these.
_GET = select(*_ORDER_COLUMNS).where(orders.c.id == bindparam("order_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_ITEMS = (
    select(
        order_items.c.product,
        order_items.c.description,
        order_items.c.credits,
        order_items.c.amount,
    )
    .where(order_items.c.order_id == bindparam("order_id"))
    .order_by(order_items.c.position)
)
_SET_STATUS = Statement("UPDATE orders SET status = :status WHERE id = :id")
_SET_PAID = Statement("UPDATE orders SET status = :status, paid_at = :paid_at WHERE id = :id")
_ORDER_NAMES = tuple(c.name for c in _ORDER_COLUMNS)


class OrderRepository:
    def __init__(self, connection: Connection, driver: Driver, fresh: FreshOrders) -> None:
        self._connection = connection
        self._driver = driver
        self._fresh = fresh
        self._items: dict[str, list[OrderItem]] = {}
        """Items of orders this unit of work wrote or read: they never change once written,
        and a renewal reads its order's for the fulfilment, the invoice, the mail and views."""
        self._held: dict[str, OrderRecord] = {}
        """Orders no other transaction can change until this one ends: made in it, or read
        for update. Read again, they come from here, kept current by this repository's own
        changes."""

    def add(self, order: OrderRecord, items: Sequence[OrderItem]) -> None:
        # Through the driver (store.raw_sql): every renewal makes an order.
        self._driver.insert(orders, _as_dict(order))
        self._items[order.id] = list(items)
        self._held[order.id] = order
        self._fresh.made(order.id)
        for i, item in enumerate(items):
            self._driver.insert(
                order_items,
                {
                    "order_id": order.id,
                    "position": i,
                    "product": item.product,
                    "description": item.description,
                    "credits": item.credits,
                    "amount": item.amount,
                },
            )

    def get(self, order_id: str, *, for_update: bool = False) -> OrderRecord | None:
        held = self._held.get(order_id)
        if held is not None:
            return held
        query = _GET_FOR_UPDATE if for_update else _GET
        row = self._connection.execute(query, {"order_id": order_id}).mappings().first()
        if row is None:
            return None
        order = OrderRecord(**row)
        if for_update:
            self._held[order_id] = order
        return order

    def items(self, order_id: str) -> list[OrderItem]:
        known = self._items.get(order_id)
        if known is None:
            rows = self._connection.execute(_ITEMS, {"order_id": order_id})
            known = self._items[order_id] = [OrderItem(*row) for row in rows]
        return list(known)

    def page(
        self, account_id: str, *, before_seq: int | None, limit: int
    ) -> list[tuple[int, OrderRecord]]:
        query = (
            select(orders.c.seq, *_ORDER_COLUMNS)
            .where(orders.c.account_id == account_id)
            .order_by(orders.c.seq.desc())
            .limit(limit)
        )
        if before_seq is not None:
            query = query.where(orders.c.seq < before_seq)
        result = []
        for row in self._connection.execute(query).mappings():
            values = dict(row)
            seq = values.pop("seq")
            result.append((seq, OrderRecord(**values)))
        return result

    def set_status(self, order_id: str, *, status: str, paid_at: datetime | None = None) -> None:
        changes: dict[str, object] = {"status": status}
        if paid_at is None:
            self._driver.execute(_SET_STATUS, {"id": order_id, "status": status})
        else:
            changes["paid_at"] = paid_at
            self._driver.execute(
                _SET_PAID,
                {"id": order_id, "status": status, "paid_at": self._driver.bind_time(paid_at)},
            )
        self._changed(order_id, **changes)

    def set_checkout(self, order_id: str, *, provider_ref: str | None, url: str | None) -> None:
        self._connection.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(provider_ref=provider_ref, checkout_url=url)
        )
        self._changed(order_id, provider_ref=provider_ref, checkout_url=url)

    def _changed(self, order_id: str, **changes: object) -> None:
        held = self._held.get(order_id)
        if held is not None:
            self._held[order_id] = replace(held, **changes)  # type: ignore[arg-type]

    def by_payment(self, provider: str, provider_payment_id: str) -> OrderRecord | None:
        """The order a provider's payment paid (or was declined for)."""
        order_id = self._connection.execute(
            select(payments.c.order_id).where(
                payments.c.provider == provider,
                payments.c.provider_payment_id == provider_payment_id,
            )
        ).scalar_one_or_none()
        return self.get(order_id) if order_id else None

    def by_provider_ref(self, provider: str, provider_ref: str) -> OrderRecord | None:
        """The order a provider's checkout (session, transaction) belongs to."""
        row = (
            self._connection.execute(
                select(*_ORDER_COLUMNS).where(
                    orders.c.provider == provider, orders.c.provider_ref == provider_ref
                )
            )
            .mappings()
            .first()
        )
        return OrderRecord(**row) if row else None

    def fingerprints_of(self, account_id: str) -> set[str]:
        """The cards (or provider customers) an account has paid with."""
        return set(
            self._connection.execute(
                select(payments.c.fingerprint)
                .join(orders, orders.c.id == payments.c.order_id)
                .where(orders.c.account_id == account_id, payments.c.fingerprint.is_not(None))
            ).scalars()
        )

    def accounts_paying_with(self, fingerprints: set[str]) -> set[str]:
        if not fingerprints:
            return set()
        return set(
            self._connection.execute(
                select(orders.c.account_id)
                .join(payments, payments.c.order_id == orders.c.id)
                .where(payments.c.fingerprint.in_(list(fingerprints)))
            ).scalars()
        )

    def of_subscription(self, subscription_id: str) -> list[OrderRecord]:
        rows = self._connection.execute(
            select(*_ORDER_COLUMNS)
            .where(orders.c.subscription_id == subscription_id)
            .order_by(orders.c.seq)
        ).mappings()
        return [OrderRecord(**row) for row in rows]

    def pending_renewal(self, subscription_id: str) -> OrderRecord | None:
        """The renewal order waiting for its provider's payment, if one is open."""
        rows = self._driver.select(
            orders,
            columns=_ORDER_NAMES,
            where={"subscription_id": subscription_id, "kind": "renewal", "status": "pending"},
            order_by=("seq DESC",),
            limit=1,
        )
        return OrderRecord(**rows[0]) if rows else None

    def addon_credits_paid(self, account_id: str, *, since: datetime, until: datetime) -> int:
        """Add-on credits in orders paid within [since, until): the monthly limit's count."""
        total = self._connection.execute(
            select(func.coalesce(func.sum(order_items.c.credits), 0))
            .select_from(order_items.join(orders, orders.c.id == order_items.c.order_id))
            .where(
                orders.c.account_id == account_id,
                orders.c.kind == "addon",
                orders.c.paid_at.is_not(None),
                orders.c.paid_at >= since,
                orders.c.paid_at < until,
            )
        ).scalar_one()
        return int(total)

    # Payments

    def add_payment(self, payment: PaymentRecord) -> bool:
        """False when the provider's payment id was recorded before: the same payment again."""
        added = self._driver.insert(
            payments, _as_dict(payment), unless=("provider", "provider_payment_id")
        )
        if added:
            self._fresh.add_payment(payment)
        return added

    def payments(self, order_id: str) -> list[PaymentRecord]:
        known = self._fresh.payments(order_id)
        if known is not None:
            return known
        rows = self._driver.select(payments, where={"order_id": order_id}, order_by=("created_at",))
        return [PaymentRecord(**row) for row in rows]

    # The test provider's switch

    def test_behavior(self, account_id: str) -> str:
        rows = self._driver.select(
            test_payment_behaviors, columns=("behavior",), where={"account_id": account_id}
        )
        return str(rows[0]["behavior"]) if rows else "succeed"

    def set_test_behavior(self, account_id: str, behavior: str) -> None:
        if not insert_ignoring_duplicates(
            self._connection,
            test_payment_behaviors,
            {"account_id": account_id, "behavior": behavior},
            index_elements=["account_id"],
        ):
            self._connection.execute(
                update(test_payment_behaviors)
                .where(test_payment_behaviors.c.account_id == account_id)
                .values(behavior=behavior)
            )


def _as_dict(record: object) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]
