"""Subscriptions: subscribe, renew, recharge monthly, roll over, cancel, resume, change plan.

Rules 7 to 12. Every period and monthly cycle is computed from the subscription's anchor (its
purchase instant) and the time, never accumulated, so a restarted server or a late retry lands on
the same boundaries. The clock drives renewals through the due-work queue: one
`subscription_cycle` item per subscription, at the end of its current monthly cycle, ranked ahead
of the expiry of that cycle's credits so that a rollover can move them first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from creditflow.domain.catalog import Catalog, Plan
from creditflow.domain.errors import Conflict, InvalidRequest, NotFound, PaymentDeclined
from creditflow.domain.kinds import GrantKind
from creditflow.domain.periods import MONTHS_PER_INTERVAL, add_months, cycle_index_at
from creditflow.domain.proration import prorate_upgrade
from creditflow.ids import new_id
from creditflow.payments.base import PaymentProvider
from creditflow.services import notices
from creditflow.services.accounts import require_account
from creditflow.services.credits import EXPIRE_GRANT, grant_credits
from creditflow.services.orders import (
    charge_order,
    create_order,
    fulfils,
    pick_provider,
    record_payment,
)
from creditflow.services.views import (
    Money,
    PlanChangeView,
    ProrationView,
    ScheduledChange,
    SubscriptionView,
)
from creditflow.store.orders import OrderItem, OrderRecord
from creditflow.store.subscriptions import LIVE, SubscriptionRecord
from creditflow.store.uow import UnitOfWork

SUBSCRIPTION_CYCLE = "subscription_cycle"
SUBSCRIPTION_RETRY = "subscription_retry"
INCOMPLETE_EXPIRY = "subscription_incomplete_expiry"
CYCLE_RANK = 10
"""Ahead of grant expiries (rank 100) due at the same instant."""
RETRY_EVERY = timedelta(days=1)
MAX_RETRIES = 3
"""A declined renewal is retried daily this many times, then the subscription ends."""
INCOMPLETE_FOR = timedelta(hours=23)
"""As Stripe: a first payment not made within 23 hours ends the subscription."""


def subscribe(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    now: datetime,
    account_id: str,
    plan: str,
    interval: str,
    provider: str | None = None,
) -> SubscriptionView:
    account = require_account(uow, account_id, for_update=True)
    chosen = _plan(catalog, plan)
    price = _price(catalog, chosen, interval)
    payment_provider = pick_provider(providers, provider)
    current = uow.subscriptions.current(account.id)
    if current is not None and current.status in LIVE:
        raise Conflict(
            f"Account {account.id} already has subscription {current.id} ({current.plan}); "
            "change its plan instead.",
            code="already_subscribed",
            subscription_id=current.id,
        )
    if current is not None:  # an incomplete attempt is replaced by the new one
        uow.subscriptions.save(current.evolve(status="ended", ended_at=now))
    months = MONTHS_PER_INTERVAL[interval]
    record = SubscriptionRecord(
        id=new_id("sub"),
        account_id=account.id,
        plan=chosen.code,
        interval=interval,
        status="incomplete",
        provider=payment_provider.name,
        anchor=now,
        current_period_start=now,
        current_period_end=add_months(now, months),
        cycle_start=now,
        cycle_end=add_months(now, 1),
        cancel_at_period_end=False,
        scheduled_plan=None,
        retries=0,
        order_id=None,
        created_at=now,
        ended_at=None,
    )
    uow.subscriptions.add(record)
    order = create_order(
        uow,
        catalog=catalog,
        now=now,
        account_id=account.id,
        kind="subscription",
        items=[_plan_item(chosen, interval, price)],
        provider=payment_provider.name,
        subscription_id=record.id,
    )
    uow.subscriptions.save(record.evolve(order_id=order.id))
    outcome = charge_order(uow, catalog=catalog, provider=payment_provider, order=order, now=now)
    if outcome.status != "succeeded":
        uow.due_work.schedule(
            task=INCOMPLETE_EXPIRY, subject_id=record.id, due_at=now + INCOMPLETE_FOR, now=now
        )
    return subscription_view(_require(uow, record.id))


@fulfils("subscription")
def _activate(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    record = _require(uow, order.subscription_id or "")
    if record.status != "incomplete":
        return
    record = record.evolve(status="active")
    uow.subscriptions.save(record)
    uow.due_work.cancel(task=INCOMPLETE_EXPIRY, subject_id=record.id)
    _start_cycle(uow, catalog, record, now, rollover_from=None)


@fulfils("renewal")
def _renew(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    record = _require(uow, order.subscription_id or "")
    if record.status == "ended":
        return
    uow.due_work.cancel(task=SUBSCRIPTION_RETRY, subject_id=record.id)
    previous_cycle_end = record.cycle_end if record.status == "active" else None
    uow.subscriptions.save(record.evolve(status="active", retries=0))
    # A provider may charge a renewal before our clock reaches the period end: the new period
    # still starts at the end of the old one, never inside it.
    starts = max(now, record.current_period_end) if record.status == "active" else now
    _start_cycle(uow, catalog, _require(uow, record.id), starts, rollover_from=previous_cycle_end)


@fulfils("upgrade")
def _upgrade(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    record = _require(uow, order.subscription_id or "")
    [item] = uow.orders.items(order.id)
    record = record.evolve(plan=item.product, scheduled_plan=None)
    uow.subscriptions.save(record)
    if item.credits:
        _grant_plan_credits(
            uow, catalog, record, item.credits, now, reason=f"upgrade to {item.product}"
        )


def _start_cycle(
    uow: UnitOfWork,
    catalog: Catalog,
    record: SubscriptionRecord,
    now: datetime,
    *,
    rollover_from: datetime | None,
) -> None:
    """Enter the period and monthly cycle that contain `now`, and grant the cycle's credits."""
    months = MONTHS_PER_INTERVAL[record.interval]
    cycle = cycle_index_at(record.anchor, now)
    period = cycle // months
    record = record.evolve(
        current_period_start=add_months(record.anchor, period * months),
        current_period_end=add_months(record.anchor, (period + 1) * months),
        cycle_start=add_months(record.anchor, cycle),
        cycle_end=add_months(record.anchor, cycle + 1),
    )
    uow.subscriptions.save(record)
    rollover = catalog.subscriptions is not None and catalog.subscriptions.rollover == "on_renewal"
    if rollover and rollover_from is not None:
        # Rule 8: renewed before they expired, the cycle's credits carry into the next cycle.
        for grant_id in uow.ledger.extend_expiry(
            account_id=record.account_id,
            source_id=record.id,
            kind=GrantKind.SUBSCRIPTION,
            expiring_at=rollover_from,
            new_expiry=record.cycle_end,
        ):
            uow.due_work.reschedule(
                task=EXPIRE_GRANT, subject_id=grant_id, due_at=record.cycle_end, now=now
            )
    plan = _plan(catalog, record.plan)
    if plan.monthly_credits:
        _grant_plan_credits(
            uow, catalog, record, plan.monthly_credits, now, reason=f"{plan.code} monthly credits"
        )
    uow.due_work.reschedule(
        task=SUBSCRIPTION_CYCLE,
        subject_id=record.id,
        due_at=record.cycle_end,
        now=now,
        rank=CYCLE_RANK,
    )


def _grant_plan_credits(
    uow: UnitOfWork,
    catalog: Catalog,
    record: SubscriptionRecord,
    credits: int,
    now: datetime,
    *,
    reason: str,
) -> None:
    grant_credits(
        uow,
        catalog=catalog,
        now=now,
        account_id=record.account_id,
        credits=credits,
        kind=GrantKind.SUBSCRIPTION,
        reason=reason,
        expires_at=record.cycle_end,
        source_type="subscription",
        source_id=record.id,
    )


def run_cycle(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    now: datetime,
    subscription_id: str,
) -> None:
    """Due work at the end of a monthly cycle: recharge, renew, or end (rules 7 to 12)."""
    record = uow.subscriptions.get(subscription_id)
    if record is None or record.status != "active":
        return
    require_account(uow, record.account_id, for_update=True)
    if record.cycle_end < record.current_period_end:  # annual plans recharge monthly (rule 7)
        _start_cycle(uow, catalog, record, now, rollover_from=record.cycle_end)
        return
    if record.cancel_at_period_end:  # rule 9: access lasts to the period end, then ends
        uow.subscriptions.save(record.evolve(status="ended", ended_at=now))
        notices.subscription_ended(uow, catalog=catalog, subscription=record, now=now)
        return
    if record.scheduled_plan:  # rule 11: a downgrade takes effect at the period end
        record = record.evolve(plan=record.scheduled_plan, scheduled_plan=None)
        uow.subscriptions.save(record)
    _charge_renewal(uow, catalog, providers, record, now)


def retry_renewal(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    now: datetime,
    subscription_id: str,
) -> None:
    record = uow.subscriptions.get(subscription_id)
    if record is None or record.status != "past_due":
        return
    if record.cancel_at_period_end:
        uow.subscriptions.save(record.evolve(status="ended", ended_at=now))
        return
    _charge_renewal(uow, catalog, providers, record, now)


def _charge_renewal(
    uow: UnitOfWork,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    record: SubscriptionRecord,
    now: datetime,
) -> None:
    order = uow.orders.pending_renewal(record.id) or create_order(
        uow,
        catalog=catalog,
        now=now,
        account_id=record.account_id,
        kind="renewal",
        items=renewal_items(catalog, record),
        provider=record.provider,
        subscription_id=record.id,
    )
    provider = pick_provider(providers, record.provider)
    outcome = charge_order(uow, catalog=catalog, provider=provider, order=order, now=now)
    if outcome.status == "declined":
        renewal_declined(uow, catalog=catalog, subscription_id=record.id, order=None, now=now)
    # `pending`: a provider that bills on its own (Stripe, Paddle, Creem) reports the payment
    # by webhook; the order waits for it.


def renewal_items(catalog: Catalog, record: SubscriptionRecord) -> list[OrderItem]:
    plan = _plan(catalog, record.plan)
    return [_plan_item(plan, record.interval, _price(catalog, plan, record.interval))]


def renewal_declined(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    subscription_id: str,
    order: OrderRecord | None,
    now: datetime,
) -> None:
    """Rule 12: past_due, no new credits; the ended cycle's credits lapse on their expiry.

    Retried daily; after the last retry the subscription ends. `order`, when given, is the
    renewal order a provider reported as declined.
    """
    record = _require(uow, subscription_id)
    if order is not None and order.paid_at is None:
        uow.orders.set_status(order.id, status="failed")
    if record.status not in ("active", "past_due"):
        return
    retries = record.retries + (1 if record.status == "past_due" else 0)
    total = order.total if order is not None else _renewal_total(catalog, record)
    if retries >= MAX_RETRIES:
        uow.subscriptions.save(record.evolve(status="ended", ended_at=now, retries=retries))
        notices.renewal_failed(
            uow, catalog=catalog, subscription=record, total=total, retry_at=None, now=now
        )
        return
    uow.subscriptions.save(record.evolve(status="past_due", retries=retries))
    uow.due_work.reschedule(
        task=SUBSCRIPTION_RETRY, subject_id=record.id, due_at=now + RETRY_EVERY, now=now
    )
    notices.renewal_failed(
        uow, catalog=catalog, subscription=record, total=total, retry_at=now + RETRY_EVERY, now=now
    )


def _renewal_total(catalog: Catalog, record: SubscriptionRecord) -> int:
    return sum(item.amount for item in renewal_items(catalog, record))


def expire_incomplete(uow: UnitOfWork, *, now: datetime, subscription_id: str) -> None:
    record = uow.subscriptions.get(subscription_id)
    if record is not None and record.status == "incomplete":
        uow.subscriptions.save(record.evolve(status="ended", ended_at=now))


def cancel_subscription(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, subscription_id: str
) -> SubscriptionView:
    record = _live(uow, subscription_id, "cancelled")
    if not record.cancel_at_period_end:
        uow.subscriptions.save(record.evolve(cancel_at_period_end=True))
        notices.subscription_cancelled(uow, catalog=catalog, subscription=record, now=now)
    return subscription_view(_require(uow, record.id))


def resume_subscription(
    uow: UnitOfWork, *, now: datetime, subscription_id: str
) -> SubscriptionView:
    record = _live(uow, subscription_id, "resumed")
    uow.subscriptions.save(record.evolve(cancel_at_period_end=False))
    return subscription_view(_require(uow, record.id))


def change_plan(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    now: datetime,
    subscription_id: str,
    plan: str,
) -> PlanChangeView:
    record = _live(uow, subscription_id, "changed")
    if record.status != "active":
        raise Conflict(
            f"Subscription {record.id} is {record.status}; pay the renewal before changing plan.",
            code="subscription_not_active",
        )
    require_account(uow, record.account_id, for_update=True)
    current, target = _plan(catalog, record.plan), _plan(catalog, plan)
    if target.code == current.code:
        raise Conflict(f"Subscription {record.id} is already on {current.code}.", code="same_plan")
    new_price = _price(catalog, target, record.interval)
    if target.rank > current.rank:
        return _upgrade_now(uow, catalog, providers, record, current, target, new_price, now)
    policy = catalog.subscriptions.downgrade if catalog.subscriptions else "at_period_end"
    if policy == "not_allowed":
        raise Conflict(
            f"{target.name} is a lower tier: cancel, let {current.name} run out, then subscribe "
            "to it.",
            code="downgrade_not_allowed",
        )
    uow.subscriptions.save(record.evolve(scheduled_plan=target.code))
    return PlanChangeView(
        subscription=subscription_view(_require(uow, record.id)), proration=None, order_id=None
    )


def _upgrade_now(
    uow: UnitOfWork,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    record: SubscriptionRecord,
    current: Plan,
    target: Plan,
    new_price: int,
    now: datetime,
) -> PlanChangeView:
    """Rule 10: pay the prorated difference now and get the prorated difference in credits."""
    proration = prorate_upgrade(
        old_price=_price(catalog, current, record.interval),
        new_price=new_price,
        old_credits=current.monthly_credits,
        new_credits=target.monthly_credits,
        period=(record.current_period_start, record.current_period_end),
        cycle=(record.cycle_start, record.cycle_end),
        now=now,
    )
    order = create_order(
        uow,
        catalog=catalog,
        now=now,
        account_id=record.account_id,
        kind="upgrade",
        items=[
            OrderItem(
                target.code,
                f"Upgrade from {current.name} to {target.name}, prorated",
                proration.credits,
                proration.charge,
            )
        ],
        provider=record.provider,
        subscription_id=record.id,
    )
    if proration.charge == 0:
        record_payment(
            uow,
            catalog=catalog,
            order_id=order.id,
            provider=record.provider,
            provider_payment_id=f"free_{order.id}",
            amount=0,
            now=now,
        )
    else:
        provider = pick_provider(providers, record.provider)
        outcome = charge_order(uow, catalog=catalog, provider=provider, order=order, now=now)
        if outcome.status == "declined":
            # Raising rolls the order back with everything else: a refused upgrade changes nothing.
            raise PaymentDeclined(
                f"The upgrade charge of {proration.charge} minor units was declined; "
                f"the plan is unchanged. ({outcome.message or 'no reason given'})",
                charge=proration.charge,
            )
    return PlanChangeView(
        subscription=subscription_view(_require(uow, record.id)),
        proration=ProrationView(
            fraction=round(float(proration.fraction), 6),
            fraction_exact=f"{proration.fraction.numerator}/{proration.fraction.denominator}",
            charge=Money(amount=proration.charge, currency=catalog.site.currency),
            credits_granted=proration.credits,
        ),
        order_id=order.id,
    )


def get_subscription(uow: UnitOfWork, *, subscription_id: str) -> SubscriptionView:
    return subscription_view(_require(uow, subscription_id))


def list_subscriptions(uow: UnitOfWork, *, account_id: str) -> list[SubscriptionView]:
    require_account(uow, account_id)
    return [subscription_view(r) for r in uow.subscriptions.of_account(account_id)]


def subscription_view(record: SubscriptionRecord) -> SubscriptionView:
    return SubscriptionView(
        id=record.id,
        account_id=record.account_id,
        plan=record.plan,
        interval=record.interval,
        status=record.status,
        provider=record.provider,
        current_period_start=record.current_period_start,
        current_period_end=record.current_period_end,
        current_cycle_start=record.cycle_start,
        current_cycle_end=record.cycle_end,
        cancel_at_period_end=record.cancel_at_period_end,
        scheduled_change=(
            ScheduledChange(plan=record.scheduled_plan, effective_at=record.current_period_end)
            if record.scheduled_plan
            else None
        ),
        order_id=record.order_id,
        created_at=record.created_at,
        ended_at=record.ended_at,
    )


def _plan_item(plan: Plan, interval: str, price: int) -> OrderItem:
    return OrderItem(
        plan.code, f"{plan.name}, billed every {interval}", plan.monthly_credits, price
    )


def _plan(catalog: Catalog, code: str) -> Plan:
    plan = catalog.plan(code)
    if plan is None:
        known = ", ".join(p.code for p in catalog.plans) or "none"
        raise InvalidRequest(f"Unknown plan {code!r}; the plans are {known}.", field="plan")
    return plan


def _price(catalog: Catalog, plan: Plan, interval: str) -> int:
    if interval not in MONTHS_PER_INTERVAL:
        raise InvalidRequest("interval must be 'month' or 'year'.", field="interval")
    price = plan.price.of(interval)  # type: ignore[arg-type]
    if price is None:
        raise InvalidRequest(f"{plan.name} has no {interval}ly price.", field="interval")
    return catalog.minor_units(price)


def _require(uow: UnitOfWork, subscription_id: str) -> SubscriptionRecord:
    record = uow.subscriptions.get(subscription_id)
    if record is None:
        raise NotFound(
            f"No subscription with id {subscription_id!r}.", subscription_id=subscription_id
        )
    return record


def _live(uow: UnitOfWork, subscription_id: str, verb: str) -> SubscriptionRecord:
    record = _require(uow, subscription_id)
    if record.status not in LIVE:
        raise Conflict(
            f"Subscription {record.id} is {record.status}; it cannot be {verb}.",
            code="subscription_not_active",
            status=record.status,
        )
    return record
