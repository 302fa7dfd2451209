"""Subscriptions: subscribe, renew, recharge monthly, roll over, cancel, resume, change plan.

Rules 7 to 12. Every period and monthly cycle is computed from the subscription's anchor (its
purchase instant) and the time, never accumulated, so a restarted server or a late retry lands on
the same boundaries. The clock drives renewals through the due-work queue: one
`subscription_cycle` item per subscription, at the end of its current monthly cycle, ranked ahead
of the expiry of that cycle's credits so that a rollover can move them first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from creditflow.domain.catalog import Catalog, Plan
from creditflow.domain.errors import Conflict, InvalidRequest, NotFound, PaymentDeclined
from creditflow.domain.events import EventType
from creditflow.domain.kinds import GrantKind
from creditflow.domain.periods import MONTHS_PER_INTERVAL, add_months, cycle_index_at, period_at
from creditflow.domain.plan_changes import ChangeKind, classify_change
from creditflow.domain.proration import Proration, prorate_upgrade
from creditflow.ids import new_id
from creditflow.payments.base import PaymentProvider
from creditflow.payments.hosted import HostedProvider
from creditflow.services import notices
from creditflow.services.accounts import require_account
from creditflow.services.checkouts import record_hosted_checkout, return_addresses
from creditflow.services.credits import EXPIRE_GRANT, grant_credits, revoke_grants
from creditflow.services.events import emit
from creditflow.services.memberships import get_entitlements
from creditflow.services.orders import (
    charge_order,
    create_order,
    fulfils,
    pick_provider,
    record_payment,
)
from creditflow.services.views import (
    GrantView,
    Money,
    PlanChangeView,
    ProrationView,
    ScheduledChange,
    SubscriptionView,
)
from creditflow.store.orders import OrderItem, OrderRecord
from creditflow.store.subscriptions import LIVE, PlanChangeRecord, SubscriptionRecord
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
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> SubscriptionView:
    account = require_account(uow, account_id, for_update=True)
    chosen = _plan(catalog, plan)
    price = _price(catalog, chosen, interval)
    payment_provider = pick_provider(providers, provider)
    return_to = (
        return_addresses(catalog, success_url=success_url, cancel_url=cancel_url)
        if isinstance(payment_provider, HostedProvider)
        else None
    )
    current = uow.subscriptions.current(account.id)
    if current is not None and current.status in LIVE:
        raise Conflict(
            f"Account {account.id} already has subscription {current.id} ({current.plan}); "
            "change its plan instead.",
            code="already_subscribed",
            subscription_id=current.id,
        )
    if current is not None:  # an incomplete attempt is replaced by the new one
        _save(uow, catalog, current, current.evolve(status="ended", ended_at=now), now)
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
    emit(
        uow,
        EventType.SUBSCRIPTION_CREATED,
        account_id=account.id,
        obj=subscription_view(_require(uow, record.id)),
        now=now,
    )
    outcome = charge_order(uow, catalog=catalog, provider=payment_provider, order=order, now=now)
    if outcome.status != "succeeded":
        uow.due_work.schedule(
            task=INCOMPLETE_EXPIRY, subject_id=record.id, due_at=now + INCOMPLETE_FOR, now=now
        )
    if outcome.status == "pending" and return_to is not None:
        record_hosted_checkout(
            uow, catalog=catalog, order=order, interval=interval, return_to=return_to, now=now
        )
    return subscription_view(_require(uow, record.id))


@fulfils("subscription")
def _activate(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    record = _require(uow, order.subscription_id or "")
    if record.status != "incomplete":
        return
    uow.due_work.cancel(task=INCOMPLETE_EXPIRY, subject_id=record.id)
    _start_cycle(uow, catalog, record.evolve(status="active"), now, rollover_from=None)
    _save(uow, catalog, record, _require(uow, record.id), now, stored=True)


@fulfils("renewal")
def _renew(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    record = _require(uow, order.subscription_id or "")
    if record.status == "ended":
        return
    if record.status == "past_due":  # the only status a retry is queued in (renewal_declined)
        uow.due_work.cancel(task=SUBSCRIPTION_RETRY, subject_id=record.id)
    previous_cycle_end = record.cycle_end if record.status == "active" else None
    # A provider may charge a renewal before our clock reaches the period end: the new period
    # still starts at the end of the old one, never inside it.
    starts = max(now, record.current_period_end) if record.status == "active" else now
    renewed = _start_cycle(
        uow,
        catalog,
        record.evolve(status="active", retries=0),
        starts,
        rollover_from=previous_cycle_end,
    )
    emit(
        uow,
        EventType.SUBSCRIPTION_RENEWED,
        account_id=record.account_id,
        obj=subscription_view(renewed),
        now=now,
    )


@fulfils("upgrade")
def _upgrade(uow: UnitOfWork, catalog: Catalog, order: OrderRecord, now: datetime) -> None:
    """A paid upgrade: the new plan (and interval) at once, with its prorated credits."""
    before = _require(uow, order.subscription_id or "")
    change = uow.plan_changes.of_order(order.id)
    assert change is not None
    [item] = uow.orders.items(order.id)
    start, end = period_at(before.anchor, MONTHS_PER_INTERVAL[change.to_interval], now)
    record = before.evolve(
        plan=change.to_plan,
        interval=change.to_interval,
        current_period_start=start,
        current_period_end=end,
        scheduled_plan=None,
    )
    _save(uow, catalog, before, record, now)
    if item.credits:
        grant = _grant_plan_credits(
            uow, catalog, record, item.credits, now, reason=f"upgrade to {item.product}"
        )
        uow.plan_changes.set_grant(change.id, grant.id)


def undo_upgrade(
    uow: UnitOfWork, *, catalog: Catalog, order: OrderRecord, reason: str, now: datetime
) -> None:
    """A refunded upgrade (rule 24): the plan and interval it came from for the rest of the
    period (its entitlements and renewal price with them), and the upgrade's credits taken.

    Once only. If another change was made on top of it since, only the credits are taken.
    """
    change = uow.plan_changes.of_order(order.id)
    if change is None or change.undone_at is not None:
        return
    uow.plan_changes.mark_undone(change.id, now)
    if change.grant_id:
        revoke_grants(
            uow,
            account_id=order.account_id,
            grant_ids={change.grant_id},
            reason=reason,
            reference=order.id,
            now=now,
        )
    record = _require(uow, change.subscription_id)
    latest = uow.plan_changes.latest_of(record.id)
    on_top = latest is not None and latest.id != change.id and latest.undone_at is None
    if record.status == "ended" or on_top or record.plan != change.to_plan:
        return
    start, end = period_at(record.anchor, MONTHS_PER_INTERVAL[change.from_interval], now)
    _save(
        uow,
        catalog,
        record,
        record.evolve(
            plan=change.from_plan,
            interval=change.from_interval,
            current_period_start=start,
            current_period_end=end,
            scheduled_interval=None
            if record.scheduled_interval == change.from_interval
            else record.scheduled_interval,
        ),
        now,
    )


def end_plan_now(uow: UnitOfWork, *, catalog: Catalog, subscription_id: str, now: datetime) -> None:
    """A refunded plan order, or the provider's cancellation, ends the plan at once (source
    003); no renewal follows."""
    record = uow.subscriptions.get(subscription_id)
    if record is not None and record.status != "ended":
        _save(uow, catalog, record, record.evolve(status="ended", ended_at=now), now)
        uow.due_work.cancel(task=SUBSCRIPTION_CYCLE, subject_id=record.id)
        uow.due_work.cancel(task=SUBSCRIPTION_RETRY, subject_id=record.id)


def _save(
    uow: UnitOfWork,
    catalog: Catalog,
    before: SubscriptionRecord,
    after: SubscriptionRecord,
    now: datetime,
    *,
    stored: bool = False,
) -> None:
    """Store a change (unless `stored`), with the events it means for the site: ended,
    past_due or updated, and entitlements.changed when the plan in force changed."""
    if not stored:
        uow.subscriptions.save(after)
    for event_type in _events_of(before, after):
        if event_type is EventType.ENTITLEMENTS_CHANGED:
            obj: BaseModel = get_entitlements(
                uow, catalog=catalog, now=now, account_id=after.account_id
            )
        else:
            obj = subscription_view(after)
        emit(uow, event_type, account_id=after.account_id, obj=obj, now=now)


def _events_of(before: SubscriptionRecord, after: SubscriptionRecord) -> list[EventType]:
    was_live, is_live = before.status in LIVE, after.status in LIVE
    plan_in_force_changed = was_live != is_live or (is_live and before.plan != after.plan)
    entitlements = [EventType.ENTITLEMENTS_CHANGED] if plan_in_force_changed else []
    if after.status == "ended" != before.status:
        return [EventType.SUBSCRIPTION_ENDED, *entitlements]
    if (before.status, after.status) == ("active", "past_due"):
        return [EventType.SUBSCRIPTION_PAST_DUE]
    watched = ("status", "plan", "interval", "cancel_at_period_end")
    scheduled = ("scheduled_plan", "scheduled_interval")
    if any(getattr(before, f) != getattr(after, f) for f in (*watched, *scheduled)):
        return [EventType.SUBSCRIPTION_UPDATED, *entitlements]
    return []


def _start_cycle(
    uow: UnitOfWork,
    catalog: Catalog,
    record: SubscriptionRecord,
    now: datetime,
    *,
    rollover_from: datetime | None,
) -> SubscriptionRecord:
    """Enter the period and monthly cycle that contain `now`, and grant the cycle's credits;
    the record as saved."""
    cycle = cycle_index_at(record.anchor, now)
    start, end = period_at(record.anchor, MONTHS_PER_INTERVAL[record.interval], now)
    record = record.evolve(
        current_period_start=start,
        current_period_end=end,
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
    return record


def _grant_plan_credits(
    uow: UnitOfWork,
    catalog: Catalog,
    record: SubscriptionRecord,
    credits: int,
    now: datetime,
    *,
    reason: str,
) -> GrantView:
    return grant_credits(
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
        _save(uow, catalog, record, record.evolve(status="ended", ended_at=now), now)
        notices.subscription_ended(uow, catalog=catalog, subscription=record, now=now)
        return
    if record.scheduled_plan or record.scheduled_interval:
        # Rules 11 and 25: a downgrade, or year to month, takes effect at the period end.
        changed = record.evolve(
            plan=record.scheduled_plan or record.plan,
            interval=record.scheduled_interval or record.interval,
            scheduled_plan=None,
            scheduled_interval=None,
        )
        _save(uow, catalog, record, changed, now)
        record = changed
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
        _save(uow, catalog, record, record.evolve(status="ended", ended_at=now), now)
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
        _save(
            uow, catalog, record, record.evolve(status="ended", ended_at=now, retries=retries), now
        )
        notices.renewal_failed(
            uow, catalog=catalog, subscription=record, total=total, retry_at=None, now=now
        )
        return
    _save(uow, catalog, record, record.evolve(status="past_due", retries=retries), now)
    uow.due_work.reschedule(
        task=SUBSCRIPTION_RETRY, subject_id=record.id, due_at=now + RETRY_EVERY, now=now
    )
    notices.renewal_failed(
        uow, catalog=catalog, subscription=record, total=total, retry_at=now + RETRY_EVERY, now=now
    )


def _renewal_total(catalog: Catalog, record: SubscriptionRecord) -> int:
    return sum(item.amount for item in renewal_items(catalog, record))


def expire_incomplete(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, subscription_id: str
) -> None:
    record = uow.subscriptions.get(subscription_id)
    if record is not None and record.status == "incomplete":
        _save(uow, catalog, record, record.evolve(status="ended", ended_at=now), now)


def cancel_subscription(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, subscription_id: str
) -> SubscriptionView:
    record = _live(uow, subscription_id, "cancelled")
    if not record.cancel_at_period_end:
        _save(uow, catalog, record, record.evolve(cancel_at_period_end=True), now)
        notices.subscription_cancelled(uow, catalog=catalog, subscription=record, now=now)
    return subscription_view(_require(uow, record.id))


def resume_subscription(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, subscription_id: str
) -> SubscriptionView:
    record = _live(uow, subscription_id, "resumed")
    _save(uow, catalog, record, record.evolve(cancel_at_period_end=False), now)
    return subscription_view(_require(uow, record.id))


def change_plan(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    now: datetime,
    subscription_id: str,
    plan: str | None = None,
    interval: str | None = None,
) -> PlanChangeView:
    """Rules 10, 11 and 25: classified by rank, then interval; an upgrade is paid now."""
    if plan is None and interval is None:
        raise InvalidRequest("Give the plan, the interval, or both, to change to.", field="plan")
    record = _live(uow, subscription_id, "changed")
    if record.status != "active":
        raise Conflict(
            f"Subscription {record.id} is {record.status}; pay the renewal before changing plan.",
            code="subscription_not_active",
        )
    require_account(uow, record.account_id, for_update=True)
    current, target = _plan(catalog, record.plan), _plan(catalog, plan or record.plan)
    new_interval = interval or record.interval
    _price(catalog, target, new_interval)  # refuses an interval the plan is not sold on
    if (target.code, new_interval) == (current.code, record.interval):
        raise Conflict(
            f"Subscription {record.id} is already on {current.code}, billed every "
            f"{record.interval}.",
            code="same_plan",
        )
    kind = classify_change(
        current_rank=current.rank,
        current_interval=record.interval,
        target_rank=target.rank,
        target_interval=new_interval,
    )
    if kind is ChangeKind.DOWNGRADE:
        policy = catalog.subscriptions.downgrade if catalog.subscriptions else "at_period_end"
        if policy == "not_allowed":
            raise Conflict(
                f"{target.name} is a lower tier: cancel, let {current.name} run out, then "
                "subscribe to it.",
                code="downgrade_not_allowed",
            )
    if kind in (ChangeKind.DOWNGRADE, ChangeKind.AT_PERIOD_END):
        scheduled = record.evolve(
            scheduled_plan=target.code if target.code != current.code else None,
            scheduled_interval=new_interval if new_interval != record.interval else None,
        )
        _save(uow, catalog, record, scheduled, now)
        return PlanChangeView(
            subscription=subscription_view(_require(uow, record.id)),
            proration=None,
            order_id=None,
        )
    now_interval = record.interval if kind is ChangeKind.UPGRADE_THEN_MONTHLY else new_interval
    change = _upgrade_now(uow, catalog, providers, record, target, now_interval, now)
    upgraded = _require(uow, record.id)
    later = "month" if kind is ChangeKind.UPGRADE_THEN_MONTHLY else None
    if upgraded.scheduled_interval != later:
        _save(uow, catalog, upgraded, upgraded.evolve(scheduled_interval=later), now)
    return change.model_copy(update={"subscription": subscription_view(_require(uow, record.id))})


def preview_change(
    catalog: Catalog, record: SubscriptionRecord, *, plan: str, interval: str, now: datetime
) -> Proration:
    """What an immediate change to `plan` billed every `interval` costs now, and grants."""
    current, target = _plan(catalog, record.plan), _plan(catalog, plan)
    months = MONTHS_PER_INTERVAL[interval]
    same_interval = interval == record.interval
    return prorate_upgrade(
        old_price=_price(catalog, current, record.interval),
        new_price=_price(catalog, target, interval),
        old_credits=current.monthly_credits,
        new_credits=target.monthly_credits,
        period=(record.current_period_start, record.current_period_end),
        new_period=None if same_interval else period_at(record.anchor, months, now),
        cycle=(record.cycle_start, record.cycle_end),
        now=now,
    )


def _upgrade_now(
    uow: UnitOfWork,
    catalog: Catalog,
    providers: dict[str, PaymentProvider],
    record: SubscriptionRecord,
    target: Plan,
    interval: str,
    now: datetime,
) -> PlanChangeView:
    """Rules 10 and 25: pay the prorated difference now and get the prorated credits."""
    current = _plan(catalog, record.plan)
    proration = preview_change(catalog, record, plan=target.code, interval=interval, now=now)
    what = (
        f"{current.name} to {target.name}"
        if interval == record.interval
        else f"{current.name} every {record.interval} to {target.name} every {interval}"
    )
    order = create_order(
        uow,
        catalog=catalog,
        now=now,
        account_id=record.account_id,
        kind="upgrade",
        items=[
            OrderItem(
                target.code, f"Upgrade from {what}, prorated", proration.credits, proration.charge
            )
        ],
        provider=record.provider,
        subscription_id=record.id,
    )
    uow.plan_changes.add(
        PlanChangeRecord(
            id=new_id("pch"),
            subscription_id=record.id,
            order_id=order.id,
            from_plan=current.code,
            from_interval=record.interval,
            to_plan=target.code,
            to_interval=interval,
            grant_id=None,
            created_at=now,
            undone_at=None,
        )
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
                charge=Money(amount=proration.charge, currency=catalog.site.currency),
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
    return _with_checkout(uow, _require(uow, subscription_id))


def list_subscriptions(uow: UnitOfWork, *, account_id: str) -> list[SubscriptionView]:
    require_account(uow, account_id)
    return [_with_checkout(uow, r) for r in uow.subscriptions.of_account(account_id)]


def _with_checkout(uow: UnitOfWork, record: SubscriptionRecord) -> SubscriptionView:
    """An incomplete subscription shows where its first period is paid (a hosted checkout)."""
    view = subscription_view(record)
    if record.status != "incomplete" or record.order_id is None:
        return view
    order = uow.orders.get(record.order_id)
    return view.model_copy(update={"checkout_url": order.checkout_url if order else None})


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
            ScheduledChange(
                plan=record.scheduled_plan or record.plan,
                interval=record.scheduled_interval or record.interval,
                effective_at=record.current_period_end,
            )
            if record.scheduled_plan or record.scheduled_interval
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
