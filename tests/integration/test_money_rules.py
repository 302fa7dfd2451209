"""Rules 23, 24 and 25 of ../shared/spec/rules.md: no refund under an open dispute, a refunded
upgrade undoes the upgrade whichever way the refund comes, and interval changes."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from creditflow.domain.errors import Conflict, InvalidRequest
from creditflow.engine import Engine
from creditflow.payments.events import EventKind, ProviderEvent
from creditflow.services.views import Money
from creditflow.services.webhooks import receive_event
from tests.factories import ledger_sum, make_account

EngineWith = Callable[[str], Engine]
DAY = 86400


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


# Rule 23


def test_rule_23_no_refund_of_an_order_while_its_chargeback_is_open(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100")
    dispute = engine.open_dispute(order.id)
    request = engine.submit_refund_request(order_id=order.id, reason="duplicate_charge")
    before = (engine.order(order.id), ledger_sum(engine, account.id))

    with pytest.raises(Conflict) as refused:
        engine.refund_order(order.id, reason="goodwill")
    assert refused.value.code == "order_disputed"
    assert refused.value.details["dispute_id"] == dispute.id
    with pytest.raises(Conflict) as decided:
        engine.decide_refund_request(request.id, outcome="approve_full", note="duplicate")
    assert decided.value.code == "order_disputed"

    assert (engine.order(order.id), ledger_sum(engine, account.id)) == before  # nothing changed
    assert engine.refund_request(request.id).status == "in_review"


def test_rule_23_after_a_lost_dispute_nothing_is_refundable_after_a_won_one_refunds_work(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    lost = engine.checkout(account.id, product="credits_100")
    engine.close_dispute(engine.open_dispute(lost.id).id, outcome="lost")
    with pytest.raises(Conflict, match="lost its chargeback") as refused:
        engine.refund_order(lost.id, amount=100, reason="goodwill")
    assert refused.value.code == "order_disputed"

    other = make_account(engine)
    won = engine.checkout(other.id, product="credits_100")
    engine.close_dispute(engine.open_dispute(won.id).id, outcome="won")
    refund = engine.refund_order(won.id, amount=100, reason="goodwill")
    assert refund.status == "succeeded" and engine.order(won.id).status == "partially_refunded"


# Rule 24


def upgraded_member(engine: Engine) -> tuple[str, str, str]:
    """A tier 1 member for 10 days, then on tier 2: (account, subscription, upgrade order)."""
    account = make_account(engine).id
    subscription = engine.subscribe(account, plan="tier1", interval="month")
    engine.advance_clock(seconds=10 * DAY)
    change = engine.change_plan(subscription.id, plan="tier2")
    assert change.proration is not None and change.order_id is not None
    # Rule 10 on 21 of 31 days left: 677 cents now, floor(7000 x 21/31) credits.
    assert change.proration.charge.amount == half_up(Fraction(1000 * 21, 31)) == 677
    assert change.proration.credits_granted == math.floor(Fraction(7000 * 21, 31)) == 4741
    assert engine.entitlements(account).features["max_loras_per_generation"].limit == 7
    return account, subscription.id, change.order_id


def assert_back_on_tier1(engine: Engine, account: str, subscription_id: str) -> None:
    subscription = engine.subscription(subscription_id)
    assert (subscription.plan, subscription.status) == ("tier1", "active")
    assert subscription.current_period_end == datetime(2026, 2, 15, 9, tzinfo=UTC)
    features = engine.entitlements(account).features
    assert features["max_loras_per_generation"].limit == 5  # tier 1's, not tier 2's 7
    assert features["free_lora_trainings"].limit == 3
    assert engine.balance(account).by_kind == {"subscription": 5000}  # the upgrade's 4741 gone
    engine.advance_clock(to=datetime(2026, 2, 15, 9, 1, tzinfo=UTC))
    renewal = engine.orders(account).data[0]
    assert (renewal.kind, renewal.total, renewal.status) == (
        "renewal",
        Money(amount=1000, currency="USD"),  # tier 1's price, not tier 2's
        "paid",
    )


def test_rule_24_a_support_refund_of_an_upgrade_puts_the_plan_it_came_from_back(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")  # downgrade = "not_allowed": support could not by hand
    account, subscription_id, upgrade = upgraded_member(engine)
    engine.refund_order(upgrade, reason="charged by mistake")
    assert engine.order(upgrade).status == "refunded"
    assert_back_on_tier1(engine, account, subscription_id)


def test_rule_24_an_approved_refund_request_of_an_upgrade_undoes_it_too(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account, subscription_id, upgrade = upgraded_member(engine)
    request = engine.submit_refund_request(order_id=upgrade, reason="change_of_mind")
    engine.decide_refund_request(request.id, outcome="approve_full", amount=677, note="goodwill")
    assert_back_on_tier1(engine, account, subscription_id)


def test_rule_24_a_provider_reported_refund_of_an_upgrade_undoes_it_too(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account, subscription_id, upgrade = upgraded_member(engine)
    [payment] = engine.order(upgrade).payments
    refunded = ProviderEvent(
        provider="test",
        event_id="evt_refund_1",
        type="refund.created",
        kind=EventKind.REFUND,
        order_id=upgrade,
        payment_id=payment.provider_payment_id,
        refund_id="re_provider_1",
        amount=677,
        refund_status="succeeded",
    )
    engine.context.run_plain(
        lambda uow: receive_event(
            uow,
            catalog=engine.catalog,
            providers=engine.context.providers,
            event=refunded,
            payload="{}",
            now=engine.clock.now(),
        )
    )
    assert_back_on_tier1(engine, account, subscription_id)


def test_rule_24_a_refund_of_a_plans_first_order_ends_the_plan_at_once(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine).id
    subscription = engine.subscribe(account, plan="tier1", interval="month")
    assert subscription.order_id is not None
    engine.refund_order(subscription.order_id, reason="requested")
    ended = engine.subscription(subscription.id)
    assert ended.status == "ended" and ended.ended_at == engine.clock.now()
    assert engine.balance(account).available == 0
    engine.advance_clock(seconds=40 * DAY)
    assert [o.kind for o in engine.orders(account).data] == ["subscription"]  # no renewal


def test_rule_24_a_partial_refund_of_an_upgrade_leaves_the_plan_as_it_is(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    _, subscription_id, upgrade = upgraded_member(engine)
    engine.refund_order(upgrade, amount=100, reason="goodwill")
    assert engine.subscription(subscription_id).plan == "tier2"


# Rule 25


def test_rule_25_month_to_year_is_an_upgrade_now_priced_by_both_intervals(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine).id
    subscription = engine.subscribe(account, plan="tier1", interval="month")
    engine.advance_clock(seconds=10 * DAY)
    change = engine.change_plan(subscription.id, interval="year")
    assert change.proration is not None
    # What the year buys of [15 Jan 2026, 15 Jan 2027), less the month's unused 21/31.
    expected = half_up(Fraction(10000 * 355, 365) - Fraction(1000 * 21, 31))
    assert change.proration.charge.amount == expected == 9049
    assert change.proration.credits_granted == 0  # the same plan: no more credits a month
    yearly = change.subscription
    assert (yearly.plan, yearly.interval) == ("tier1", "year")
    assert yearly.current_period_end == datetime(2027, 1, 15, 9, tzinfo=UTC)
    engine.advance_clock(to=datetime(2026, 2, 15, 9, 1, tzinfo=UTC))
    assert engine.orders(account).data[0].kind == "upgrade"  # a monthly recharge, not a renewal
    assert engine.balance(account).by_kind["subscription"] == 5000


def test_rule_25_year_to_month_waits_for_the_period_end(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = make_account(engine).id
    subscription = engine.subscribe(account, plan="tier2", interval="year")
    change = engine.change_plan(subscription.id, interval="month")
    assert change.proration is None and change.order_id is None
    assert change.subscription.scheduled_change is not None
    assert change.subscription.scheduled_change.interval == "month"
    assert engine.subscription(subscription.id).interval == "year"
    engine.advance_clock(to=datetime(2027, 1, 15, 9, 1, tzinfo=UTC))
    renewed = engine.subscription(subscription.id)
    assert (renewed.interval, renewed.current_period_end) == (
        "month",
        datetime(2027, 2, 15, 9, tzinfo=UTC),
    )
    renewal = engine.orders(account).data[0]
    assert (renewal.kind, renewal.total.amount) == ("renewal", 2000)  # tier 2's monthly price


def test_rule_25_a_higher_rank_billed_monthly_from_a_year_is_the_rank_now_the_month_later(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine).id
    subscription = engine.subscribe(account, plan="tier1", interval="year")
    engine.advance_clock(seconds=10 * DAY)
    change = engine.change_plan(subscription.id, plan="tier2", interval="month")
    assert change.proration is not None
    assert change.proration.charge.amount == half_up(Fraction((20000 - 10000) * 355, 365))
    assert (change.subscription.plan, change.subscription.interval) == ("tier2", "year")
    assert change.subscription.scheduled_change is not None
    assert change.subscription.scheduled_change.interval == "month"


def test_rule_25_is_classified_by_rank_and_never_refused_or_refunded_by_price(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")  # downgrades not allowed
    account = make_account(engine).id
    subscription = engine.subscribe(account, plan="tier2", interval="month")
    with pytest.raises(Conflict) as lower:  # tier 1 yearly costs less a day, and is lower
        engine.change_plan(subscription.id, plan="tier1", interval="year")
    assert lower.value.code == "downgrade_not_allowed"
    with pytest.raises(Conflict) as same:
        engine.change_plan(subscription.id, plan="tier2", interval="month")
    assert same.value.code == "same_plan"
    with pytest.raises(InvalidRequest):
        engine.change_plan(subscription.id)
    with pytest.raises(InvalidRequest):
        engine.change_plan(subscription.id, interval="week")
    assert engine.subscription(subscription.id).plan == "tier2"
    assert [o.kind for o in engine.orders(account).data] == ["subscription"]
