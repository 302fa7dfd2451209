"""Orders and their payments: checkout of packs and add-ons, and what a paid order gives.

Credits are granted only when an order is paid, in the same transaction as the payment (rule 21
issues the invoice there too). A second successful payment of a paid order is recorded and
flagged as a duplicate charge, never granted twice (rule 22).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from creditflow.domain.events import EventType
from creditflow.domain.kinds import MAX_CREDITS, GrantKind
from creditflow.ids import new_id
from creditflow.payments.base import ChargeOutcome, ChargeRequest, PaymentProvider
from creditflow.payments.hosted import HostedProvider
from creditflow.services import notices
from creditflow.services.accounts import require_account
from creditflow.services.checkouts import record_hosted_checkout, return_addresses
from creditflow.services.credits import grant_credits, validate_channel
from creditflow.services.documents import issue_invoice, order_tax
from creditflow.services.events import emit
from creditflow.services.pagination import check_limit, decode_int_cursor, page_of
from creditflow.services.views import (
    AddonAllowanceView,
    Money,
    OrderItemView,
    OrderView,
    Page,
    PaymentView,
    RefundView,
)
from creditflow.store.orders import OrderItem, OrderRecord, PaymentRecord
from creditflow.store.refunds import RUNNING_TOTAL, RefundRecord
from creditflow.store.uow import UnitOfWork

Fulfilment = Callable[[UnitOfWork, Catalog, OrderRecord, datetime], None]
FULFILMENT: dict[str, Fulfilment] = {}
"""What a paid order gives, by order kind; subscription kinds register theirs."""


def fulfils(kind: str) -> Callable[[Fulfilment], Fulfilment]:
    def register(function: Fulfilment) -> Fulfilment:
        FULFILMENT[kind] = function
        return function

    return register


def checkout(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    now: datetime,
    account_id: str,
    product: str,
    credits: int | None = None,
    provider: str | None = None,
    channel: str | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> OrderView:
    """An order for a pack or for add-on credits, charged at once through its provider; a
    hosted provider's checkout is recorded here and opened after the commit."""
    account = require_account(uow, account_id, for_update=True)
    payment_provider = pick_provider(providers, provider)
    return_to = (
        return_addresses(catalog, success_url=success_url, cancel_url=cancel_url)
        if isinstance(payment_provider, HostedProvider)
        else None
    )
    order_channel = validate_channel(catalog, channel, allow_any=False) or (
        catalog.credits.default_channel
    )
    if product == "addon":
        item = _addon_item(uow, catalog, account.id, credits, now)
        kind = "addon"
    else:
        if credits is not None:
            raise InvalidRequest(
                "credits is only for add-ons; a pack has its own.", field="credits"
            )
        pack = catalog.pack(product)
        if pack is None:
            known = ", ".join(p.code for p in catalog.packs) or "none"
            raise InvalidRequest(
                f"Unknown product {product!r}; the packs are {known}, or 'addon'.",
                field="product",
            )
        item = OrderItem(
            pack.code, f"{pack.credits} credits", pack.credits, catalog.minor_units(pack.price)
        )
        kind = "pack"
    order = create_order(
        uow,
        catalog=catalog,
        now=now,
        account_id=account.id,
        kind=kind,
        items=[item],
        provider=payment_provider.name,
        channel=order_channel.value if order_channel else None,
    )
    outcome = charge_order(uow, catalog=catalog, provider=payment_provider, order=order, now=now)
    if outcome.status == "pending" and return_to is not None:
        record_hosted_checkout(
            uow, catalog=catalog, order=order, interval=None, return_to=return_to, now=now
        )
    return order_view(uow, order.id)


def create_order(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    account_id: str,
    kind: str,
    items: list[OrderItem],
    provider: str,
    channel: str | None = None,
    subscription_id: str | None = None,
) -> OrderRecord:
    account = require_account(uow, account_id)
    tax = order_tax(catalog, account.country, sum(item.amount for item in items))
    order = OrderRecord(
        id=new_id("ord"),
        account_id=account_id,
        kind=kind,
        status="pending",
        currency=catalog.site.currency,
        total=tax.total,
        tax=tax.tax,
        provider=provider,
        provider_ref=None,
        checkout_url=None,
        subscription_id=subscription_id,
        channel=channel,
        created_at=now,
        paid_at=None,
    )
    uow.orders.add(order, items)
    return order


def charge_order(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    provider: PaymentProvider,
    order: OrderRecord,
    now: datetime,
) -> ChargeOutcome:
    """Ask the provider for the money; a paid order is fulfilled in this same transaction."""
    outcome = provider.charge(
        uow,
        ChargeRequest(
            order_id=order.id,
            account_id=order.account_id,
            amount=order.total,
            currency=order.currency,
            description=f"{order.kind} {order.id}",
            idempotency_key=order.id,
        ),
    )
    if outcome.status == "pending":
        uow.orders.set_checkout(order.id, provider_ref=outcome.payment_id, url=outcome.checkout_url)
    elif outcome.status == "succeeded":
        assert outcome.payment_id is not None
        record_payment(
            uow,
            catalog=catalog,
            order_id=order.id,
            provider=provider.name,
            provider_payment_id=outcome.payment_id,
            amount=order.total,
            now=now,
        )
    else:
        record_declined(
            uow, order=order, provider=provider.name, payment_id=outcome.payment_id, now=now
        )
    return outcome


def record_payment(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order_id: str,
    provider: str,
    provider_payment_id: str,
    amount: int,
    now: datetime,
    fingerprint: str | None = None,
) -> PaymentRecord | None:
    """A successful payment: the first pays the order; a further one is a duplicate charge.

    The same provider payment reported twice is recorded once (None the second time).
    """
    order = uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    already_paid = order.paid_at is not None
    payment = PaymentRecord(
        id=new_id("pay"),
        order_id=order.id,
        provider=provider,
        provider_payment_id=provider_payment_id,
        amount=amount,
        status="succeeded",
        duplicate=already_paid,
        created_at=now,
        fingerprint=fingerprint,
    )
    if not uow.orders.add_payment(payment):
        return None
    if not already_paid:
        uow.orders.set_status(order.id, status="paid", paid_at=now)
        paid = replace(order, status="paid", paid_at=now)
        FULFILMENT[order.kind](uow, catalog, paid, now)
        invoice = issue_invoice(
            uow, catalog=catalog, order=paid, now=now, payment_reference=provider_payment_id
        )
        notices.order_paid(uow, catalog=catalog, order=paid, invoice_number=invoice.number, now=now)
        emit(
            uow,
            EventType.ORDER_PAID,
            account_id=order.account_id,
            obj=order_view(uow, order.id),
            now=now,
        )
    return payment


def record_declined(
    uow: UnitOfWork, *, order: OrderRecord, provider: str, payment_id: str | None, now: datetime
) -> None:
    """A declined charge: recorded; an unpaid order is `failed` (a paid one stays paid)."""
    if payment_id is not None:
        uow.orders.add_payment(
            PaymentRecord(
                id=new_id("pay"),
                order_id=order.id,
                provider=provider,
                provider_payment_id=payment_id,
                amount=order.total,
                status="declined",
                duplicate=False,
                created_at=now,
            )
        )
    if order.paid_at is None:
        uow.orders.set_status(order.id, status="failed")


@fulfils("pack")
def _grant_pack(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    for item in uow.orders.items(order.id):
        pack = catalog.pack(item.product)
        days = pack.expires_after_days if pack else None
        grant_credits(
            uow,
            catalog=catalog,
            now=now,
            account_id=order.account_id,
            credits=item.credits,
            kind=GrantKind.PURCHASED,
            reason=f"pack {item.product}",
            expires_at=now + timedelta(days=days) if days else None,
            channel=order.channel,
            source_type="order",
            source_id=order.id,
        )


@fulfils("addon")
def _grant_addon(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    subscription = uow.subscriptions.current(order.account_id)
    expires = catalog.addons.expires if catalog.addons else "never"
    expires_at = subscription.cycle_end if expires == "end_of_cycle" and subscription else None
    for item in uow.orders.items(order.id):
        grant_credits(
            uow,
            catalog=catalog,
            now=now,
            account_id=order.account_id,
            credits=item.credits,
            kind=GrantKind.ADDON,
            reason="add-on credits",
            expires_at=expires_at,
            channel=order.channel,
            source_type="order",
            source_id=order.id,
        )


def addon_allowance(
    uow: UnitOfWork, catalog: Catalog, account_id: str
) -> AddonAllowanceView | None:
    """How many add-on credits the member may still buy this cycle; None for a non-member or
    a site without add-ons (rule 14)."""
    if catalog.addons is None:
        return None
    subscription = uow.subscriptions.current(account_id)
    plan = (
        catalog.plan(subscription.plan)
        if subscription and subscription.status in ("active", "past_due")
        else None
    )
    if subscription is None or plan is None:
        return None
    bought = uow.orders.addon_credits_paid(
        account_id, since=subscription.cycle_start, until=subscription.cycle_end
    )
    return AddonAllowanceView(
        plan=plan.code,
        limit=plan.addon_credits_per_month,
        bought=bought,
        left=max(plan.addon_credits_per_month - bought, 0),
        cycle_end=subscription.cycle_end,
        price_per_1000_credits=Money(
            amount=catalog.minor_units(catalog.addons.price_per_1000_credits),
            currency=catalog.site.currency,
        ),
    )


def _addon_item(
    uow: UnitOfWork, catalog: Catalog, account_id: str, credits: int | None, now: datetime
) -> OrderItem:
    """Add-ons: members only, within the plan's monthly limit (rule 14)."""
    if catalog.addons is None:
        raise InvalidRequest("This site sells no add-on credits.", field="product")
    if credits is None or isinstance(credits, bool) or not isinstance(credits, int):
        raise InvalidRequest("Add-ons need credits, a whole number.", field="credits")
    if credits <= 0 or credits > MAX_CREDITS:
        raise InvalidRequest(
            f"Add-on credits must be a whole number from 1 to {MAX_CREDITS}; got {credits}.",
            field="credits",
        )
    subscription = uow.subscriptions.current(account_id)
    plan = (
        catalog.plan(subscription.plan)
        if subscription and subscription.status in ("active", "past_due")
        else None
    )
    if subscription is None or plan is None:
        raise Forbidden(
            "Add-on credits are for members; subscribe to a plan first.", code="members_only"
        )
    bought = uow.orders.addon_credits_paid(
        account_id, since=subscription.cycle_start, until=subscription.cycle_end
    )
    if bought + credits > plan.addon_credits_per_month:
        raise Conflict(
            f"{plan.name} allows {plan.addon_credits_per_month} add-on credits a month; "
            f"{bought} bought this cycle, so {plan.addon_credits_per_month - bought} more at most.",
            code="addon_limit_reached",
            limit=plan.addon_credits_per_month,
            bought=bought,
            requested=credits,
        )
    price = Decimal(credits) * catalog.addons.price_per_1000_credits / 1000
    amount = catalog.minor_units(
        price.quantize(Decimal(1).scaleb(-catalog.currency_exponent), rounding=ROUND_HALF_UP)
    )
    if amount == 0:
        raise InvalidRequest(
            f"{credits} add-on credits cost less than the smallest unit of "
            f"{catalog.site.currency}; buy more at once.",
            field="credits",
        )
    return OrderItem("addon", f"{credits} add-on credits", credits, amount)


def pick_provider(providers: dict[str, PaymentProvider], name: str | None) -> PaymentProvider:
    chosen = providers.get(name or "test")
    if chosen is None:
        raise InvalidRequest(
            f"Unknown or unconfigured payment provider {name!r}; available: "
            f"{', '.join(sorted(providers))}.",
            field="provider",
        )
    return chosen


def set_test_behavior(uow: UnitOfWork, *, account_id: str, behavior: str) -> str:
    if behavior not in ("succeed", "decline"):
        raise InvalidRequest("behavior must be 'succeed' or 'decline'.", field="behavior")
    require_account(uow, account_id)
    uow.orders.set_test_behavior(account_id, behavior)
    return behavior


def order_view(uow: UnitOfWork, order_id: str) -> OrderView:
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    payments = uow.orders.payments(order.id)

    def money(amount: int) -> Money:
        return Money(amount=amount, currency=order.currency)

    return OrderView(
        id=order.id,
        account_id=order.account_id,
        kind=order.kind,
        status=order.status,
        items=[_item_view(item, order.currency) for item in uow.orders.items(order.id)],
        total=money(order.total),
        provider=order.provider,
        checkout_url=order.checkout_url,
        subscription_id=order.subscription_id,
        channel=order.channel,
        created_at=order.created_at,
        paid_at=order.paid_at,
        payments=[
            PaymentView(
                id=p.id,
                provider=p.provider,
                provider_payment_id=p.provider_payment_id,
                amount=money(p.amount),
                status=p.status,
                duplicate=p.duplicate,
                created_at=p.created_at,
                fingerprint=p.fingerprint,
            )
            for p in payments
        ],
        duplicate_charge=any(p.duplicate for p in payments),
        refunds=[
            refund_view_of(r, order.currency)
            for r in uow.refunds.of_order(order.id)
            if not (r.provider_refund_id or "").startswith(RUNNING_TOTAL)
        ],
    )


def refund_view_of(record: RefundRecord, currency: str) -> RefundView:
    return RefundView(
        id=record.id,
        order_id=record.order_id,
        amount=Money(amount=record.amount, currency=currency),
        status=record.status,
        provider=record.provider,
        provider_refund_id=record.provider_refund_id,
        reason=record.reason,
        created_at=record.created_at,
    )


def list_orders(
    uow: UnitOfWork, *, account_id: str, limit: int | None, cursor: str | None
) -> Page[OrderView]:
    size = check_limit(limit)
    before = decode_int_cursor(cursor, "orders")
    require_account(uow, account_id)
    rows = uow.orders.page(account_id, before_seq=before, limit=size + 1)
    return page_of(rows, size=size, kind="orders", view=lambda order: order_view(uow, order.id))


def _item_view(item: OrderItem, currency: str) -> OrderItemView:
    return OrderItemView(
        product=item.product,
        description=item.description,
        credits=item.credits,
        amount=Money(amount=item.amount, currency=currency),
    )
