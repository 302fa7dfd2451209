"""Which mail a change sends, with what it says: one function per notice.

Each is called inside the use case's transaction and only queues the message (services/mail),
so a change that rolls back mails nobody. Money and dates are formatted here, once, for people.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.documents import format_money
from creditflow.services.mail import enqueue_mail
from creditflow.store.orders import OrderRecord
from creditflow.store.subscriptions import SubscriptionRecord
from creditflow.store.uow import UnitOfWork

INVOICE_MAIL = ("order_paid", "renewal_paid")
"""Templates whose message carries the order's invoice PDF (attached when it is sent)."""


def order_paid(
    uow: UnitOfWork, *, catalog: Catalog, order: OrderRecord, invoice_number: str, now: datetime
) -> None:
    email = _email(uow, order.account_id)
    if email is None:
        return
    money = _money(catalog, order.currency)
    if order.kind == "renewal" and order.subscription_id:
        subscription = uow.subscriptions.get(order.subscription_id)
        plan = catalog.plan(subscription.plan) if subscription else None
        enqueue_mail(
            uow,
            now=now,
            to=email,
            template="renewal_paid",
            account_id=order.account_id,
            context={
                "plan": plan.name if plan else "",
                "period_end": _day(subscription.current_period_end) if subscription else "",
                "total": money(order.total),
                "invoice_number": invoice_number,
            },
        )
        return
    enqueue_mail(
        uow,
        now=now,
        to=email,
        template="order_paid",
        account_id=order.account_id,
        context={
            "order_id": order.id,
            "invoice_number": invoice_number,
            "total": money(order.total),
            "lines": [
                {"description": item.description, "amount": money(item.amount)}
                for item in uow.orders.items(order.id)
            ],
        },
    )


def renewal_failed(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    subscription: SubscriptionRecord,
    total: int,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    email = _email(uow, subscription.account_id)
    if email is None:
        return
    enqueue_mail(
        uow,
        now=now,
        to=email,
        template="renewal_failed",
        account_id=subscription.account_id,
        context={
            "plan": _plan_name(catalog, subscription),
            "total": _money(catalog, catalog.site.currency)(total),
            "retry_at": _day(retry_at) if retry_at else None,
        },
    )


def subscription_cancelled(
    uow: UnitOfWork, *, catalog: Catalog, subscription: SubscriptionRecord, now: datetime
) -> None:
    email = _email(uow, subscription.account_id)
    if email is not None:
        enqueue_mail(
            uow,
            now=now,
            to=email,
            template="subscription_cancelled",
            account_id=subscription.account_id,
            context={
                "plan": _plan_name(catalog, subscription),
                "access_until": _day(subscription.current_period_end),
            },
        )


def subscription_ended(
    uow: UnitOfWork, *, catalog: Catalog, subscription: SubscriptionRecord, now: datetime
) -> None:
    email = _email(uow, subscription.account_id)
    if email is not None:
        enqueue_mail(
            uow,
            now=now,
            to=email,
            template="subscription_ended",
            account_id=subscription.account_id,
            context={"plan": _plan_name(catalog, subscription), "ended_at": _day(now)},
        )


def account_suspended(uow: UnitOfWork, *, account_id: str, order_id: str, now: datetime) -> None:
    email = _email(uow, account_id)
    if email is not None:
        enqueue_mail(
            uow,
            now=now,
            to=email,
            template="account_suspended",
            account_id=account_id,
            context={"reason": "a chargeback was filed with your bank", "order_id": order_id},
        )


def _email(uow: UnitOfWork, account_id: str) -> str | None:
    account = uow.accounts.get(account_id)
    return account.email if account else None


def _plan_name(catalog: Catalog, subscription: SubscriptionRecord) -> str:
    plan = catalog.plan(subscription.plan)
    return plan.name if plan else subscription.plan


def _money(catalog: Catalog, currency: str):  # type: ignore[no-untyped-def]
    return lambda amount: format_money(amount, currency, catalog.currency_exponent)


def _day(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d")
