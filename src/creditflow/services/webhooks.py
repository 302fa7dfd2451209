"""Provider events applied once each, in whatever order they arrive.

The path of every event: the adapter verifies the delivery and reads it; here the event is
stored unique by (provider, event id) and applied in the same transaction, through a map from
its kind to a handler. A redelivery finds the stored row and does nothing. An event that names
no order or subscription of ours is kept as `unmatched` (and answered 200, so the provider stops
retrying); it is tried again whenever a later event of the same provider has been applied, which
is how a refund or a dispute that overtook its payment still lands.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from creditflow.domain.catalog import Catalog
from creditflow.payments.base import PaymentProvider
from creditflow.payments.events import EventKind, ProviderEvent
from creditflow.services import disputes, money_back
from creditflow.services.orders import create_order, record_declined, record_payment
from creditflow.services.subscriptions import end_plan_now, renewal_declined, renewal_items
from creditflow.store.orders import OrderRecord
from creditflow.store.subscriptions import SubscriptionRecord
from creditflow.store.uow import UnitOfWork
from creditflow.store.webhooks import WebhookEventRecord

log = logging.getLogger(__name__)

RETRY_UNMATCHED = 100
Handler = Callable[["Delivery"], bool]


class Delivery:
    """One event being applied: what it names of ours, found once."""

    def __init__(
        self,
        uow: UnitOfWork,
        catalog: Catalog,
        providers: dict[str, PaymentProvider],
        event: ProviderEvent,
        now: datetime,
    ) -> None:
        self.uow, self.catalog, self.providers, self.event, self.now = (
            uow,
            catalog,
            providers,
            event,
            now,
        )
        self.order = self._find_order()
        self.subscription = self._find_subscription()

    def _find_order(self) -> OrderRecord | None:
        event, orders = self.event, self.uow.orders
        found = orders.get(event.order_id) if event.order_id else None
        if found is None and event.payment_id:
            found = orders.by_payment(event.provider, event.payment_id)
        if found is None and event.checkout_ref:
            found = orders.by_provider_ref(event.provider, event.checkout_ref)
        return found if found is None or found.provider == event.provider else None

    def _find_subscription(self) -> SubscriptionRecord | None:
        event, subscriptions = self.event, self.uow.subscriptions
        if event.subscription_ref:
            found = subscriptions.by_provider_ref(event.provider, event.subscription_ref)
            if found is not None:
                return found
        if self.order is not None and self.order.subscription_id:
            found = subscriptions.get(self.order.subscription_id)
            if found is not None and event.subscription_ref and found.provider_ref is None:
                # The first event that names both teaches us the provider's subscription id.
                self.uow.subscriptions.save(found.evolve(provider_ref=event.subscription_ref))
                found = subscriptions.get(found.id)
            return found
        return None


def receive_event(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    event: ProviderEvent,
    payload: str,
    now: datetime,
) -> str:
    """Store and apply one event; `duplicate`, `applied`, `unmatched` or `ignored`."""
    stored = uow.webhook_events.add(
        WebhookEventRecord(
            provider=event.provider,
            event_id=event.event_id,
            type=event.type,
            received_at=now,
            payload=payload,
            outcome="ignored",
            order_id=None,
            detail=json.dumps(_portable(event), default=str),
        )
    )
    if not stored:
        return "duplicate"
    outcome, order_id = _apply(uow, catalog, providers, event, now)
    uow.webhook_events.settle(event.provider, event.event_id, outcome=outcome, order_id=order_id)
    if outcome == "applied":
        _retry_unmatched(uow, catalog, providers, event.provider, now)
    return outcome


def _apply(
    uow: UnitOfWork,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    event: ProviderEvent,
    now: datetime,
) -> tuple[str, str | None]:
    delivery = Delivery(uow, catalog, providers, event, now)
    handler = HANDLERS.get(event.kind)
    if handler is None:
        return "ignored", None
    if not handler(delivery):
        return ("unmatched" if event.kind is not EventKind.IGNORED else "ignored"), None
    order = delivery.order
    return ("applied" if event.kind is not EventKind.IGNORED else "ignored"), (
        order.id if order else None
    )


def _retry_unmatched(
    uow: UnitOfWork,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    provider: str,
    now: datetime,
) -> None:
    progress = True
    while progress:  # one landing may let another land (a dispute, then its close)
        progress = False
        for record in uow.webhook_events.unmatched(provider, limit=RETRY_UNMATCHED):
            event = _restore(record)
            outcome, order_id = _apply(uow, catalog, providers, event, now)
            if outcome != "unmatched":
                uow.webhook_events.settle(
                    provider, record.event_id, outcome=outcome, order_id=order_id
                )
                progress = True


def _payment_succeeded(d: Delivery) -> bool:
    event, sub = d.event, d.subscription
    payment_id = event.payment_id or event.event_id
    if sub is not None and d.uow.orders.by_payment(event.provider, payment_id) is None:
        first = d.uow.orders.get(sub.order_id) if sub.order_id else None
        if first is not None and first.paid_at is not None:
            # The first payment is in: a further payment of the subscription is a renewal.
            d.order = _renewal_order(d, sub)
    if d.order is None:
        return False
    record_payment(
        d.uow,
        catalog=d.catalog,
        order_id=d.order.id,
        provider=event.provider,
        provider_payment_id=payment_id,
        amount=event.amount if event.amount is not None else d.order.total,
        now=d.now,
        fingerprint=event.fingerprint or event.customer_ref,
    )
    # A refund or a chargeback may have been recorded before this payment arrived.
    money_back.settle_order_status(d.uow, catalog=d.catalog, order_id=d.order.id, now=d.now)
    return True


def _payment_failed(d: Delivery) -> bool:
    event, sub = d.event, d.subscription
    if sub is not None and sub.order_id:
        first = d.uow.orders.get(sub.order_id)
        if first is not None and first.paid_at is not None:
            renewal_declined(
                d.uow,
                catalog=d.catalog,
                subscription_id=sub.id,
                order=_renewal_order(d, sub),
                now=d.now,
            )
            return True
    if d.order is None:
        return False
    record_declined(
        d.uow,
        order=d.order,
        provider=event.provider,
        payment_id=event.payment_id,
        now=d.now,
    )
    return True


def _refund(d: Delivery) -> bool:
    event, order = d.event, d.order
    if order is None:
        return False
    if event.refund_id:
        money_back.record_refund(
            d.uow,
            catalog=d.catalog,
            order=order,
            provider=event.provider,
            provider_refund_id=event.refund_id,
            provider_payment_id=event.payment_id,
            amount=event.amount or 0,
            status=event.refund_status or "succeeded",
            now=d.now,
        )
    elif event.refunded_total is not None and event.payment_id:
        money_back.record_refunded_total(
            d.uow,
            catalog=d.catalog,
            order=order,
            provider=event.provider,
            provider_payment_id=event.payment_id,
            total=event.refunded_total,
            now=d.now,
        )
    return True


def _dispute_opened(d: Delivery) -> bool:
    if d.order is None:
        return False
    disputes.open_dispute(
        d.uow,
        catalog=d.catalog,
        order=d.order,
        provider=d.event.provider,
        provider_dispute_id=d.event.dispute_id,
        amount=d.event.amount,
        reason=d.event.type,
        now=d.now,
    )
    return True


def _dispute_closed(d: Delivery) -> bool:
    if d.order is None:
        return False
    disputes.close_dispute(
        d.uow,
        catalog=d.catalog,
        order=d.order,
        provider=d.event.provider,
        provider_dispute_id=d.event.dispute_id,
        outcome="won" if d.event.dispute_status == "won" else "lost",
        amount=d.event.amount,
        now=d.now,
    )
    return True


def _subscription_canceled(d: Delivery) -> bool:
    sub = d.subscription
    if sub is None:
        return False
    end_plan_now(d.uow, catalog=d.catalog, subscription_id=sub.id, now=d.now)
    return True


def _ignored(d: Delivery) -> bool:
    return True  # Delivery linked the provider's subscription id if the event named both


HANDLERS: dict[EventKind, Handler] = {
    EventKind.PAYMENT_SUCCEEDED: _payment_succeeded,
    EventKind.PAYMENT_FAILED: _payment_failed,
    EventKind.REFUND: _refund,
    EventKind.DISPUTE_OPENED: _dispute_opened,
    EventKind.DISPUTE_CLOSED: _dispute_closed,
    EventKind.SUBSCRIPTION_CANCELED: _subscription_canceled,
    EventKind.IGNORED: _ignored,
}


def _renewal_order(d: Delivery, sub: SubscriptionRecord) -> OrderRecord:
    """The renewal our clock opened and the provider is paying, or a new one if it ran ahead."""
    pending = d.uow.orders.pending_renewal(sub.id)
    if pending is not None:
        return pending
    return create_order(
        d.uow,
        catalog=d.catalog,
        now=d.now,
        account_id=sub.account_id,
        kind="renewal",
        items=renewal_items(d.catalog, sub),
        provider=sub.provider,
        subscription_id=sub.id,
    )


def _portable(event: ProviderEvent) -> dict[str, Any]:
    data = asdict(replace(event, raw={}))
    data.pop("raw")
    return data


def _restore(record: WebhookEventRecord) -> ProviderEvent:
    data = json.loads(record.detail or "{}")
    data["kind"] = EventKind(data["kind"])
    if data.get("occurred_at"):
        data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
    return ProviderEvent(**data)


def webhook_summary(record: WebhookEventRecord) -> str:
    """One line for `creditflow webhooks unmatched`: when, whose, and what it names."""
    detail = json.loads(record.detail or "{}")
    names = ("order_id", "payment_id", "subscription_ref", "customer_ref")
    refs = " ".join(f"{k}={detail[k]}" for k in names if detail.get(k))
    when = record.received_at.isoformat()
    return f"{when} {record.provider} {record.event_id} {record.type} {refs}".rstrip()
