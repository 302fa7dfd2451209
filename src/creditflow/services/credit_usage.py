"""What became of the credits an order bought: spent, held, expired, revoked, left.

From the ledger, never estimated: the usage thresholds of the refund policies, the revocation of
an approved refund, and a chargeback's evidence all read it. A pack's or add-on's credits are
the grants its order made; a plan's are the grants its subscription made from that order's
payment until the next paid order of the subscription (an annual plan's monthly recharges
included).
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.refunds.facts import CreditUsage
from creditflow.store.orders import OrderRecord
from creditflow.store.records import GrantRecord
from creditflow.store.uow import UnitOfWork


def order_grants(uow: UnitOfWork, order: OrderRecord) -> list[GrantRecord]:
    if order.paid_at is None:
        return []
    if not order.subscription_id:
        return uow.ledger.grants_of_source(
            order.account_id, source_type="order", source_id=order.id
        )
    return uow.ledger.grants_of_source(
        order.account_id,
        source_type="subscription",
        source_id=order.subscription_id,
        since=order.paid_at,
        until=next_payment_at(uow, order),
    )


def order_usage(uow: UnitOfWork, order: OrderRecord) -> CreditUsage:
    grants = order_grants(uow, order)
    moved = uow.ledger.moved_from(order.account_id, [g.id for g in grants])
    return CreditUsage(
        granted=sum(g.granted for g in grants),
        spent=moved.get("consume", 0) + moved.get("capture", 0),
        held=sum(g.held for g in grants),
        expired=moved.get("expire", 0),
        revoked=moved.get("revoke", 0),
        remaining=sum(g.remaining for g in grants),
    )


def next_payment_at(uow: UnitOfWork, order: OrderRecord) -> datetime | None:
    """When the subscription was next paid for (upgrades aside): where this order's plan
    credits end."""
    later = [
        other.paid_at
        for other in uow.orders.of_subscription(order.subscription_id or "")
        if other.paid_at is not None
        and order.paid_at is not None
        and other.paid_at > order.paid_at
        and other.kind != "upgrade"
    ]
    return min(later) if later else None
