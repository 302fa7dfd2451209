"""Subscriptions on the test clock, on SQLite and PostgreSQL (rules 7 to 12)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from creditflow.clock import TestClock
from creditflow.domain.errors import Conflict, InvalidRequest, PaymentDeclined
from creditflow.engine import Engine
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import ledger_sum, make_account

EngineWith = Callable[[str], Engine]


def subscription_credits(engine: Engine, account_id: str) -> int:
    return engine.balance(account_id).by_kind.get("subscription", 0)


def test_rule_7_a_monthly_plan_grants_its_credits_at_purchase_and_every_renewal(
    engine_with: EngineWith, clock: TestClock
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    assert subscription.status == "active"
    assert subscription_credits(engine, account.id) == 600
    engine.advance_clock(to=subscription.current_period_end)
    renewed = engine.subscription(subscription.id)
    assert renewed.status == "active"
    assert renewed.current_period_start == subscription.current_period_end
    assert subscription_credits(engine, account.id) == 600  # rollover "none": the old 600 lapsed
    orders = engine.orders(account.id).data
    assert [o.kind for o in orders] == ["renewal", "subscription"]
    assert all(o.status == "paid" and o.total.amount == 1500 for o in orders)


def test_rule_7_an_annual_plan_is_charged_once_and_recharges_credits_every_month(
    engine_with: EngineWith, clock: TestClock
) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="tier1", interval="year")
    assert subscription.current_period_end == datetime(2027, 1, 15, 9, tzinfo=UTC)
    for month in range(1, 12):
        engine.advance_clock(to=subscription.current_period_start.replace(month=1 + month))
        assert subscription_credits(engine, account.id) == 5000, f"month {month}"
        grants = engine.balance(account.id).grants
        assert [g.expires_at for g in grants if g.kind == "subscription"] == [
            subscription.current_period_start.replace(month=2 + month)
            if month < 11
            else datetime(2027, 1, 15, 9, tzinfo=UTC)
        ]
    orders = engine.orders(account.id).data
    assert [(o.kind, o.total.amount) for o in orders] == [("subscription", 10000)]
    engine.advance_clock(to=datetime(2027, 1, 15, 9, tzinfo=UTC))
    assert [o.kind for o in engine.orders(account.id).data] == ["renewal", "subscription"]


def test_rule_8_with_rollover_unused_plan_credits_carry_into_the_renewed_cycle(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    engine.consume(account.id, credits=100, channel="web")
    engine.advance_clock(to=subscription.current_period_end)
    renewed = engine.subscription(subscription.id)
    balance = engine.balance(account.id)
    assert balance.by_kind == {"subscription": 900}
    assert {g.expires_at for g in balance.grants} == {renewed.current_period_end}


def test_rule_8_without_rollover_unused_plan_credits_lapse_at_the_cycle_end(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="creator_monthly", interval="month")
    engine.consume(account.id, credits=1000)
    engine.advance_clock(to=subscription.current_period_end)
    assert engine.balance(account.id).by_kind == {"subscription": 3000}
    expired = [e for e in engine.ledger(account.id).data if e.type == "expire"]
    assert [e.credits for e in expired] == [-2000]
    assert ledger_sum(engine, account.id) == (3000, 0)


def test_rule_8_a_cancelled_plan_clears_its_credits_at_the_period_end_even_with_rollover(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    engine.cancel_subscription(subscription.id)
    engine.advance_clock(to=subscription.current_period_end)
    assert engine.subscription(subscription.id).status == "ended"
    assert engine.balance(account.id).available == 0
    assert len(engine.orders(account.id).data) == 1  # no renewal was charged


def test_rule_9_cancel_keeps_access_to_the_period_end_and_resume_undoes_it(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="tier2", interval="month")
    cancelled = engine.cancel_subscription(subscription.id)
    assert cancelled.cancel_at_period_end and cancelled.status == "active"
    assert engine.entitlements(account.id).plan == "tier2"
    engine.advance_clock(to=subscription.current_period_end - timedelta(seconds=1))
    assert engine.entitlements(account.id).plan == "tier2"
    assert subscription_credits(engine, account.id) == 12000
    resumed = engine.resume_subscription(subscription.id)
    assert not resumed.cancel_at_period_end
    engine.advance_clock(seconds=1)
    assert engine.subscription(subscription.id).status == "active"
    engine.cancel_subscription(subscription.id)
    ended_at = engine.subscription(subscription.id).current_period_end
    engine.advance_clock(to=ended_at)
    ended = engine.subscription(subscription.id)
    assert (ended.status, ended.ended_at) == ("ended", ended_at)
    assert engine.entitlements(account.id).plan is None
    with pytest.raises(Conflict) as error:
        engine.cancel_subscription(subscription.id)
    assert error.value.code == "subscription_not_active"
    with pytest.raises(Conflict):
        engine.resume_subscription(subscription.id)


@pytest.mark.parametrize(
    ("days_in", "fraction", "charge", "credits"),
    [
        (0, "1/1", 2000, 1500),  # at once: the whole difference
        (10, "21/31", 1355, 1016),  # 2000 x 21/31 = 1354.8; 1500 x 21/31 = 1016.1
        (30, "1/31", 65, 48),  # the last day of a 31-day month
    ],
)
def test_rule_10_an_upgrade_charges_and_grants_the_prorated_difference_in_a_31_day_month(
    engine_with: EngineWith,
    clock: TestClock,
    days_in: int,
    fraction: str,
    charge: int,
    credits: int,
) -> None:
    engine = engine_with("photo-credits")
    clock.move_to(datetime(2026, 3, 1, tzinfo=UTC))  # March: 31 days
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    engine.advance_clock(seconds=days_in * 86400)
    change = engine.change_plan(subscription.id, plan="pro")
    assert change.proration is not None
    assert change.proration.fraction_exact == fraction
    assert (change.proration.charge.amount, change.proration.credits_granted) == (charge, credits)
    assert change.subscription.plan == "pro"
    assert change.subscription.current_period_end == subscription.current_period_end
    upgrade = engine.order(change.order_id or "")
    assert (upgrade.kind, upgrade.status, upgrade.total.amount) == ("upgrade", "paid", charge)
    assert subscription_credits(engine, account.id) == 500 + credits
    engine.advance_clock(to=subscription.current_period_end)
    renewal = engine.orders(account.id).data[0]
    assert (renewal.kind, renewal.total.amount) == ("renewal", 2999)


def test_rule_10_an_annual_upgrade_prorates_the_price_over_the_year_and_credits_over_the_month(
    engine_with: EngineWith, clock: TestClock
) -> None:
    engine = engine_with("membership")
    clock.move_to(datetime(2026, 2, 10, tzinfo=UTC))
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="tier1", interval="year")
    engine.advance_clock(to=datetime(2026, 8, 20, tzinfo=UTC))
    change = engine.change_plan(subscription.id, plan="tier2")
    assert change.proration is not None
    assert change.proration.fraction_exact == "174/365"
    assert change.proration.charge.amount == 4767  # 10000 x 174/365
    assert change.proration.credits_granted == 4741  # 7000 x 21/31, August 10 to September 10
    assert subscription_credits(engine, account.id) == 5000 + 4741
    engine.advance_clock(to=datetime(2026, 9, 10, tzinfo=UTC))
    assert subscription_credits(engine, account.id) == 12000  # the new plan's monthly recharge


def test_rule_10_a_declined_upgrade_charge_changes_nothing(engine_with: EngineWith) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    engine.set_test_payment_behavior(account.id, "decline")
    with pytest.raises(PaymentDeclined):
        engine.change_plan(subscription.id, plan="pro")
    assert engine.subscription(subscription.id).plan == "basic"
    assert subscription_credits(engine, account.id) == 500
    assert len(engine.orders(account.id).data) == 1


def test_rule_11_a_downgrade_waits_for_the_period_end(engine_with: EngineWith) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="pro", interval="month")
    change = engine.change_plan(subscription.id, plan="basic")
    assert change.proration is None
    scheduled = change.subscription.scheduled_change
    assert scheduled is not None
    assert (scheduled.plan, scheduled.effective_at) == ("basic", subscription.current_period_end)
    assert engine.subscription(subscription.id).plan == "pro"
    engine.advance_clock(to=subscription.current_period_end)
    after = engine.subscription(subscription.id)
    assert (after.plan, after.scheduled_change) == ("basic", None)
    renewal = engine.orders(account.id).data[0]
    assert (renewal.kind, renewal.total.amount) == ("renewal", 999)
    assert subscription_credits(engine, account.id) == 2000 + 500  # rollover on_renewal


def test_rule_11_a_catalog_may_refuse_downgrades(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="tier3", interval="month")
    with pytest.raises(Conflict) as error:
        engine.change_plan(subscription.id, plan="tier1")
    assert error.value.code == "downgrade_not_allowed"
    assert engine.subscription(subscription.id).scheduled_change is None


def test_rule_12_a_declined_renewal_is_past_due_without_credits_then_ends_after_retries(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    engine.set_test_payment_behavior(account.id, "decline")
    engine.advance_clock(to=subscription.current_period_end)
    assert engine.subscription(subscription.id).status == "past_due"
    assert engine.balance(account.id).available == 0  # rule 8: the ended cycle's credits cleared
    renewal = engine.orders(account.id).data[0]
    assert (renewal.kind, renewal.status) == ("renewal", "failed")
    engine.advance_clock(seconds=3 * 86400)
    ended = engine.subscription(subscription.id)
    assert ended.status == "ended"
    assert engine.balance(account.id).available == 0


def test_rule_12_a_past_due_plan_that_pays_on_retry_is_active_with_new_credits(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    engine.set_test_payment_behavior(account.id, "decline")
    engine.advance_clock(to=subscription.current_period_end)
    engine.set_test_payment_behavior(account.id, "succeed")
    engine.advance_clock(seconds=86400)
    renewed = engine.subscription(subscription.id)
    assert renewed.status == "active"
    assert subscription_credits(engine, account.id) == 600
    assert renewed.current_period_end == subscription.current_period_end.replace(month=3)


def test_rule_12_a_declined_first_payment_leaves_the_subscription_incomplete_then_ended(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    engine.set_test_payment_behavior(account.id, "decline")
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    assert subscription.status == "incomplete"
    assert engine.balance(account.id).available == 0
    engine.advance_clock(seconds=86400)
    assert engine.subscription(subscription.id).status == "ended"
    engine.set_test_payment_behavior(account.id, "succeed")
    assert engine.subscribe(account.id, plan="maker", interval="month").status == "active"


def test_rule_7_a_plan_bought_on_31_january_renews_on_28_february_then_31_march(
    engine_with: EngineWith, clock: TestClock
) -> None:
    engine = engine_with("imgtostl")
    clock.move_to(datetime(2026, 1, 31, 18, tzinfo=UTC))
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    ends = []
    for _ in range(3):
        engine.advance_clock(to=engine.subscription(subscription.id).current_period_end)
        ends.append(engine.subscription(subscription.id).current_period_start)
    assert ends == [
        datetime(2026, 2, 28, 18, tzinfo=UTC),
        datetime(2026, 3, 31, 18, tzinfo=UTC),
        datetime(2026, 4, 30, 18, tzinfo=UTC),
    ]


def test_rules_7_and_10_bad_subscription_requests_are_refused_and_change_nothing(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    with pytest.raises(InvalidRequest, match="Unknown plan"):
        engine.subscribe(account.id, plan="gold", interval="month")
    with pytest.raises(InvalidRequest, match="no yearly price"):
        engine.subscribe(account.id, plan="basic", interval="year")
    with pytest.raises(InvalidRequest, match="interval"):
        engine.subscribe(account.id, plan="basic", interval="week")
    assert engine.subscriptions(account.id) == []
    assert engine.orders(account.id).data == []
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    with pytest.raises(Conflict) as taken:
        engine.subscribe(account.id, plan="pro", interval="month")
    assert taken.value.code == "already_subscribed"
    with pytest.raises(Conflict) as same:
        engine.change_plan(subscription.id, plan="basic")
    assert same.value.code == "same_plan"
    with pytest.raises(InvalidRequest):
        engine.change_plan(subscription.id, plan="gold")
    assert len(engine.orders(account.id).data) == 1
    assert engine.check() == []


def test_rule_7_a_restarted_engine_picks_the_year_up_where_its_clock_stood(
    database_url: str,
) -> None:
    catalog = REFERENCE_CATALOGS / "imgtostl.toml"
    start = datetime(2026, 1, 15, 9, tzinfo=UTC)
    with Engine(database_url=database_url, clock=TestClock(start), catalog=catalog) as first:
        account = make_account(first)
        subscription = first.subscribe(account.id, plan="maker", interval="month")
        first.advance_clock(to=datetime(2026, 3, 20, tzinfo=UTC))
    # A new process: its clock would start in January, but the database remembers March.
    with Engine(database_url=database_url, clock=TestClock(start), catalog=catalog) as second:
        assert second.clock.now() == datetime(2026, 3, 20, tzinfo=UTC)
        second.advance_clock(to=datetime(2026, 6, 1, tzinfo=UTC))
        assert second.subscription(subscription.id).current_period_start == datetime(
            2026, 5, 15, 9, tzinfo=UTC
        )
        renewals = [o for o in second.orders(account.id).data if o.kind == "renewal"]
        assert len(renewals) == 4  # February, March, April, May: each once
        assert second.balance(account.id).by_kind == {"subscription": 600}
        assert second.check() == []
