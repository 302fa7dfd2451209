"""A year on the test clock with each reference catalog: balances, orders and entitlements.

Each scenario starts on 15 January 2026 at 09:00 UTC (the `clock` fixture) and moves only through
`advance_clock`, so every renewal, recharge, expiry, retry and daily lapse runs as due work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from creditflow.domain.errors import Forbidden
from creditflow.engine import Engine
from tests.factories import ledger_sum, make_account

EngineWith = Callable[[str], Engine]


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def kinds(engine: Engine, account_id: str) -> dict[str, int]:
    return engine.balance(account_id).by_kind


def paid_orders(engine: Engine, account_id: str) -> list[tuple[str, int]]:
    """(kind, total) of the paid orders, oldest first."""
    orders = engine.orders(account_id, limit=500).data
    return [(o.kind, o.total.amount) for o in reversed(orders) if o.status == "paid"]


def assert_whole(engine: Engine, account_id: str) -> None:
    balance = engine.balance(account_id)
    assert ledger_sum(engine, account_id) == (balance.available, balance.held)
    assert engine.check() == []


def test_photo_catalog_year_rules_2_3_7_8_10_11_12_and_9(engine_with: EngineWith) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine).id
    sub = engine.subscribe(account, plan="basic", interval="month").id
    engine.checkout(account, product="credits_100")
    assert kinds(engine, account) == {"subscription": 500, "purchased": 100}
    spend = engine.consume(account, credits=550, channel="web")  # rule 2's own example
    assert [(a.kind, a.credits) for a in spend.allocations] == [
        ("subscription", 500),
        ("purchased", 50),
    ]
    assert engine.balance(account, channel="app").available == 0  # rule 3

    engine.advance_clock(to=at(2026, 2, 15))  # renewal; nothing left to roll over
    assert kinds(engine, account) == {"subscription": 500, "purchased": 50}
    engine.consume(account, credits=200, channel="web")

    engine.advance_clock(to=at(2026, 3, 1))  # half of a 28-day cycle left
    change = engine.change_plan(sub, plan="pro")
    assert change.proration is not None
    assert (change.proration.charge.amount, change.proration.credits_granted) == (1000, 750)
    assert kinds(engine, account) == {"subscription": 1050, "purchased": 50}

    engine.advance_clock(to=at(2026, 3, 15))  # renewal at the pro price; rollover (rule 8)
    assert kinds(engine, account) == {"subscription": 3050, "purchased": 50}
    engine.change_plan(sub, plan="basic")  # rule 11: at the period end

    engine.advance_clock(to=at(2026, 4, 15))
    assert engine.subscription(sub).plan == "basic"
    assert kinds(engine, account) == {"subscription": 3550, "purchased": 50}

    engine.set_test_payment_behavior(account, "decline")
    engine.advance_clock(to=at(2026, 5, 15))  # rule 12: past_due, the cycle's credits cleared
    assert engine.subscription(sub).status == "past_due"
    assert kinds(engine, account) == {"purchased": 50}
    engine.set_test_payment_behavior(account, "succeed")
    engine.advance_clock(to=at(2026, 5, 16))  # the daily retry pays
    renewed = engine.subscription(sub)
    assert (renewed.status, renewed.current_period_end) == ("active", at(2026, 6, 15))
    assert kinds(engine, account) == {"subscription": 500, "purchased": 50}

    engine.advance_clock(to=at(2026, 6, 15))
    assert kinds(engine, account) == {"subscription": 1000, "purchased": 50}
    engine.advance_clock(to=at(2026, 6, 20))
    engine.cancel_subscription(sub)  # rule 9: lasts to the period end, then cleared
    engine.advance_clock(to=at(2026, 7, 15))
    assert engine.subscription(sub).status == "ended"
    assert kinds(engine, account) == {"purchased": 50}

    engine.advance_clock(to=at(2026, 8, 1))
    again = engine.subscribe(account, plan="pro", interval="month")
    engine.advance_clock(to=at(2027, 1, 15))  # renewals on the first of each month accumulate
    assert kinds(engine, account) == {"subscription": 12000, "purchased": 50}
    assert engine.subscription(again.id).current_period_end == at(2027, 2, 1)
    assert paid_orders(engine, account) == [
        ("subscription", 999),
        ("pack", 499),
        ("renewal", 999),
        ("upgrade", 1000),
        ("renewal", 2999),
        ("renewal", 999),
        ("renewal", 999),  # paid on retry, 16 May
        ("renewal", 999),
        ("subscription", 2999),
        *[("renewal", 2999)] * 5,
    ]
    failed = [o for o in engine.orders(account, limit=500).data if o.status == "failed"]
    assert [o.created_at for o in failed] == [at(2026, 5, 15)]
    assert_whole(engine, account)


def test_membership_catalog_year_rules_7_10_13_to_18(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = make_account(engine).id
    sub = engine.subscribe(account, plan="tier1", interval="year").id
    claim = engine.claim_daily_credits(account)
    assert {g.kind: g.credits for g in claim.grants} == {"daily": 10000, "member_daily": 2000}
    engine.checkout(account, product="addon", credits=10000)
    engine.consume(account, credits=15000)  # daily, then member daily, then subscription
    assert kinds(engine, account) == {"subscription": 2000, "addon": 10000}
    assert [engine.use_free_training(account) for _ in range(2)] == [True, True]
    engine.create_resource(account, type="private_model", name="portraits")

    engine.advance_clock(to=at(2026, 2, 15))  # the monthly recharge of an annual plan
    assert kinds(engine, account) == {"subscription": 5000, "addon": 10000}
    trainings = engine.entitlements(account).features["free_lora_trainings"]
    assert (trainings.used, trainings.remaining) == (0, 3)

    engine.advance_clock(to=at(2026, 3, 20))
    assert engine.use_free_training(account)
    change = engine.change_plan(sub, plan="tier2")
    assert change.proration is not None
    assert change.proration.fraction_exact == "301/365"
    assert change.proration.charge.amount == 8247  # 10000 x 301/365 = 8246.58, half up
    assert change.proration.credits_granted == 5870  # 7000 x 26/31, floored
    assert kinds(engine, account) == {"subscription": 10870, "addon": 10000}
    features = engine.entitlements(account).features
    assert features["free_lora_trainings"].remaining == 4  # 5 - 1 used (rule 17)
    assert features["max_loras_per_generation"].limit == 7
    claim = engine.claim_daily_credits(account)
    assert claim.credits == 15000

    for month in range(4, 13):
        engine.advance_clock(to=at(2026, month, 15))
        assert kinds(engine, account) == {"subscription": 12000, "addon": 10000}, month
        assert engine.entitlements(account).features["free_lora_trainings"].remaining == 5
    engine.cancel_subscription(sub)
    engine.advance_clock(to=at(2027, 1, 15))  # the annual period ends: no renewal
    assert engine.subscription(sub).status == "ended"
    assert kinds(engine, account) == {"addon": 10000}  # add-ons never expire
    free = engine.entitlements(account)
    assert free.plan is None
    assert (free.features["private_models"].limit, free.features["private_models"].used) == (0, 1)
    with pytest.raises(Forbidden):
        engine.checkout(account, product="addon", credits=1000)
    assert engine.claim_daily_credits(account).credits == 10000
    assert paid_orders(engine, account) == [
        ("subscription", 10000),
        ("addon", 1000),
        ("upgrade", 8247),
    ]
    assert_whole(engine, account)


def test_tagger_catalog_year_in_belgrade_rules_7_8_and_9(engine_with: EngineWith) -> None:
    engine = engine_with("tagger")
    account = make_account(engine).id
    engine.checkout(account, product="pack_2500")
    sub = engine.subscribe(account, plan="creator_monthly", interval="month").id
    engine.consume(account, credits=3500)
    assert kinds(engine, account) == {"purchased": 2000}
    for month in range(2, 6):
        engine.advance_clock(to=at(2026, month, 15))
        assert kinds(engine, account) == {"subscription": 3000, "purchased": 2000}
        engine.consume(account, credits=1000)
    engine.cancel_subscription(sub)
    engine.advance_clock(to=at(2026, 6, 15))
    assert engine.subscription(sub).status == "ended"
    assert kinds(engine, account) == {"purchased": 2000}
    engine.advance_clock(to=at(2026, 8, 31, 12))
    engine.subscribe(account, plan="creator_monthly", interval="month")
    engine.advance_clock(to=at(2027, 1, 15))
    assert kinds(engine, account) == {"subscription": 3000, "purchased": 2000}
    totals = paid_orders(engine, account)
    assert totals == [
        ("pack", 2000),
        ("subscription", 1200),
        *[("renewal", 1200)] * 4,
        ("subscription", 1200),
        *[("renewal", 1200)] * 4,
    ]
    assert {o.total.currency for o in engine.orders(account).data} == {"EUR"}
    assert_whole(engine, account)


def test_imgtostl_catalog_year_an_annual_plan_recharges_monthly_rule_7(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine).id
    sub = engine.subscribe(account, plan="maker", interval="year").id
    engine.checkout(account, product="pack_200")
    for month in range(2, 13):
        engine.consume(account, credits=100)
        engine.advance_clock(to=at(2026, month, 15))
        assert kinds(engine, account) == {"subscription": 600, "purchased": 200}, month
    engine.advance_clock(to=at(2027, 1, 15))  # the year is up: charged again
    renewed = engine.subscription(sub)
    assert renewed.current_period_end == at(2028, 1, 15)
    assert paid_orders(engine, account) == [
        ("subscription", 15000),
        ("pack", 1000),
        ("renewal", 15000),
    ]
    assert len(engine.ledger(account, limit=500).data) >= 12 * 2
    assert_whole(engine, account)
