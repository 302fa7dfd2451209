"""Hosted checkouts: a pending order's payment page at Stripe, Paddle or Creem.

The checkout is recorded as a provider call in the transaction that creates the order, and
opened after the commit (services.provider_calls); the order keeps the page's address. The
customer comes back to the address the request names, else the catalog's `[site]` one.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import InvalidRequest
from creditflow.payments.events import CheckoutRequest
from creditflow.services import provider_calls
from creditflow.store.orders import OrderRecord
from creditflow.store.provider_calls import ProviderCallRecord
from creditflow.store.uow import UnitOfWork


def return_addresses(
    catalog: Catalog, *, success_url: str | None, cancel_url: str | None
) -> tuple[str, str]:
    """Where a hosted checkout sends the customer: the request's, else the catalog's."""
    site = catalog.site
    success = success_url or site.checkout_success_url or site.url
    cancel = cancel_url or site.checkout_cancel_url or site.url
    if success is None or cancel is None:
        raise InvalidRequest(
            "A hosted checkout needs addresses to send the customer back to: give success_url "
            "and cancel_url, or set url (or checkout_success_url and checkout_cancel_url) in "
            "the catalog's [site].",
            field="success_url" if success is None else "cancel_url",
        )
    for name, value in (("success_url", success), ("cancel_url", cancel)):
        if not value.startswith(("https://", "http://")) or len(value) > 2000:
            raise InvalidRequest(
                f"{name} must be an absolute http(s) address of at most 2000 characters.",
                field=name,
            )
    return success, cancel


def record_hosted_checkout(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    interval: str | None,
    return_to: tuple[str, str],
    now: datetime,
) -> None:
    """Record the checkout call of a pending order, to be made once the order is committed."""
    account = uow.accounts.get(order.account_id)
    assert account is not None
    items = uow.orders.items(order.id)
    provider_calls.record_checkout(
        uow,
        order_id=order.id,
        provider=order.provider,
        request=CheckoutRequest(
            order_id=order.id,
            account_id=order.account_id,
            email=account.email,
            amount=order.total,
            currency=order.currency,
            description=", ".join(item.description for item in items),
            mode="subscription" if order.kind == "subscription" else "payment",
            product_ref=items[0].product if items else order.kind,
            interval=interval,
            success_url=return_to[0],
            cancel_url=return_to[1],
        ),
        now=now,
    )


def _opened(
    uow: UnitOfWork,
    catalog: Catalog,
    call: ProviderCallRecord,
    answer: provider_calls.Answer,
    now: datetime,
) -> None:
    order = uow.orders.get(call.subject_id, for_update=True)
    if order is not None and order.status == "pending":
        uow.orders.set_checkout(
            order.id, provider_ref=str(answer["provider_ref"]), url=str(answer["url"])
        )


def _not_opened(uow: UnitOfWork, catalog: Catalog, call: ProviderCallRecord, now: datetime) -> None:
    """No payment page could be had: the order fails (a new checkout starts afresh)."""
    order = uow.orders.get(call.subject_id, for_update=True)
    if order is not None and order.status == "pending" and order.paid_at is None:
        uow.orders.set_status(order.id, status="failed")


provider_calls.on_outcome(
    "checkout", provider_calls.OutcomeHandlers(succeeded=_opened, failed=_not_opened)
)
