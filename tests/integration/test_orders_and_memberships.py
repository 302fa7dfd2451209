"""Orders, add-ons, daily credits, entitlements, slots, free trainings (rules 13-18, 21, 22)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from creditflow.clock import TestClock
from creditflow.domain.errors import Conflict, Forbidden, InvalidRequest
from creditflow.engine import Engine
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import ledger_sum, make_account

EngineWith = Callable[[str], Engine]


def test_rules_3_and_6_a_paid_pack_grants_never_expiring_credits_on_the_default_channel(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100")
    assert (order.status, order.total.amount, order.total.currency) == ("paid", 499, "USD")
    [grant] = engine.balance(account.id).grants
    assert (grant.kind, grant.remaining, grant.expires_at) == ("purchased", 100, None)
    assert grant.channel == "web"  # rule 3: default_channel scopes purchases
    assert (grant.source.type, grant.source.id) == ("order", order.id)
    assert engine.balance(account.id, channel="app").available == 0


def test_rule_21_every_paid_order_gets_the_next_invoice_number(engine_with: EngineWith) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    first = engine.invoice(engine.checkout(account.id, product="pack_500").id)
    second = engine.invoice(engine.checkout(account.id, product="pack_2500").id)
    assert int(second.number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1
    assert (second.total.amount, second.total.currency) == (2000, "EUR")
    assert [line.product for line in second.lines] == ["pack_2500"]


def test_rule_21_a_declined_order_grants_nothing_and_has_no_invoice(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    engine.set_test_payment_behavior(account.id, "decline")
    order = engine.checkout(account.id, product="pack_1000")
    assert (order.status, order.paid_at) == ("failed", None)
    assert engine.balance(account.id).available == 0
    with pytest.raises(Exception, match="no invoice"):
        engine.invoice(order.id)


def test_rule_22_a_second_payment_of_a_paid_order_is_a_duplicate_charge_not_a_second_grant(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_500")
    again = engine.record_payment(
        order.id, provider="test", provider_payment_id="pay_again", amount=500
    )
    assert again.duplicate_charge
    assert [p.duplicate for p in again.payments] == [False, True]
    assert engine.balance(account.id).available == 500
    replayed = engine.record_payment(
        order.id, provider="test", provider_payment_id="pay_again", amount=500
    )
    assert len(replayed.payments) == 2  # the same provider payment is recorded once


def test_rule_14_bad_checkouts_are_refused_and_change_nothing(engine_with: EngineWith) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    with pytest.raises(InvalidRequest, match="Unknown product"):
        engine.checkout(account.id, product="pack_1")
    with pytest.raises(InvalidRequest, match="only for add-ons"):
        engine.checkout(account.id, product="pack_10000", credits=5)
    with pytest.raises(InvalidRequest, match="provider"):
        engine.checkout(account.id, product="pack_10000", provider="paypal")
    with pytest.raises(InvalidRequest, match="channel"):
        engine.checkout(account.id, product="pack_10000", channel="tv")
    assert engine.orders(account.id).data == []


def test_rule_14_add_ons_are_for_members_within_the_monthly_limit(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    with pytest.raises(Forbidden) as members_only:
        engine.checkout(account.id, product="addon", credits=1000)
    assert members_only.value.code == "members_only"
    subscription = engine.subscribe(account.id, plan="tier1", interval="month")
    order = engine.checkout(account.id, product="addon", credits=6000)
    assert (order.status, order.total.amount) == ("paid", 600)
    assert engine.balance(account.id).by_kind["addon"] == 6000
    with pytest.raises(Conflict) as over:
        engine.checkout(account.id, product="addon", credits=5000)
    assert over.value.code == "addon_limit_reached"
    assert over.value.details["bought"] == 6000
    engine.checkout(account.id, product="addon", credits=4000)  # exactly up to 10000
    for credits in (0, -5):
        with pytest.raises(InvalidRequest):
            engine.checkout(account.id, product="addon", credits=credits)
    with pytest.raises(InvalidRequest):
        engine.checkout(account.id, product="addon")
    engine.advance_clock(to=subscription.current_period_end)  # a new monthly cycle
    engine.checkout(account.id, product="addon", credits=10000)
    assert engine.balance(account.id).by_kind["addon"] == 20000  # add-ons never expire


def test_rule_13_daily_credits_once_a_day_with_the_member_extra_lapsing_at_midnight(
    engine_with: EngineWith, clock: TestClock
) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    claim = engine.claim_daily_credits(account.id)
    assert claim.credits == 10000
    assert claim.expires_at == datetime(2026, 1, 16, tzinfo=UTC)
    with pytest.raises(Conflict) as again:
        engine.claim_daily_credits(account.id)
    assert again.value.code == "already_claimed"
    subscription = engine.subscribe(account.id, plan="tier2", interval="month")
    engine.advance_clock(to=datetime(2026, 1, 16, tzinfo=UTC))
    assert "daily" not in engine.balance(account.id).by_kind  # lapsed at midnight
    member_claim = engine.claim_daily_credits(account.id)
    assert {g.kind: g.credits for g in member_claim.grants} == {
        "daily": 10000,
        "member_daily": 5000,
    }
    engine.cancel_subscription(subscription.id)
    engine.advance_clock(to=subscription.current_period_end + timedelta(hours=1))
    after = engine.claim_daily_credits(account.id)
    assert after.credits == 10000  # the membership ended: back to the site-wide amount
    assert ledger_sum(engine, account.id)[0] == engine.balance(account.id).available


def test_rule_13_the_day_is_the_sites_calendar_day_in_its_timezone(
    engine_with: EngineWith, clock: TestClock, tmp_path: Path
) -> None:
    text = (REFERENCE_CATALOGS / "membership.toml").read_text()
    catalog = tmp_path / "tokyo.toml"
    catalog.write_text(text.replace('timezone = "UTC"', 'timezone = "Asia/Tokyo"'))
    engine = engine_with(str(catalog))
    clock.move_to(datetime(2026, 1, 15, 14, 30, tzinfo=UTC))  # 23:30 in Tokyo
    account = make_account(engine)
    claim = engine.claim_daily_credits(account.id)
    assert claim.expires_at == datetime(2026, 1, 15, 15, tzinfo=UTC)  # Tokyo midnight
    engine.advance_clock(seconds=20 * 60)  # 23:50 in Tokyo: the same day
    with pytest.raises(Conflict):
        engine.claim_daily_credits(account.id)
    engine.advance_clock(seconds=10 * 60)  # 00:00 in Tokyo, 15:00 UTC: a new day
    assert engine.balance(account.id).available == 0
    assert engine.claim_daily_credits(account.id).credits == 10000
    engine.advance_clock(to=datetime(2026, 1, 15, 23, 59, tzinfo=UTC))  # a new UTC day, not Tokyo's
    with pytest.raises(Conflict):
        engine.claim_daily_credits(account.id)


def test_rule_13_a_site_without_daily_credits_refuses_claims(engine_with: EngineWith) -> None:
    engine = engine_with("tagger")
    with pytest.raises(Conflict) as error:
        engine.claim_daily_credits(make_account(engine).id)
    assert error.value.code == "daily_credits_not_offered"


def test_rule_15_entitlements_follow_the_plan_and_fall_back_to_free(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    free = engine.entitlements(account.id)
    assert free.plan is None
    assert free.features["max_loras_per_generation"].limit == 3
    assert free.features["gif_avatar"].enabled is False
    assert free.features["member_badge"].enabled is False
    engine.subscribe(account.id, plan="tier2", interval="month")
    member = engine.entitlements(account.id)
    assert member.plan == "tier2"
    assert member.features["max_loras_per_generation"].limit == 7
    assert member.features["private_models"].limit == 10
    assert member.features["free_lora_trainings"].limit == 5
    assert member.features["member_badge"].enabled is True
    engine.check_loras(account.id, loras=7)
    with pytest.raises(Forbidden) as too_many:
        engine.check_loras(account.id, loras=8)  # rule 18
    assert too_many.value.code == "entitlement_exceeded"


def test_rule_16_slots_are_counted_kept_after_the_membership_and_refused_over_the_limit(
    engine_with: EngineWith, tmp_path: Path
) -> None:
    text = (REFERENCE_CATALOGS / "membership.toml").read_text()
    catalog = tmp_path / "two-slots.toml"
    catalog.write_text(text.replace("private_models = 10", "private_models = 2", 1))
    engine = engine_with(str(catalog))
    account = make_account(engine)
    with pytest.raises(Forbidden):
        engine.create_resource(account.id, type="private_model", name="before joining")
    with pytest.raises(Forbidden):
        engine.create_resource(account.id, type="gif_avatar", name="cat.gif")
    subscription = engine.subscribe(account.id, plan="tier1", interval="month")
    engine.create_resource(account.id, type="private_model", name="one")
    engine.create_resource(account.id, type="private_model", name="two")
    engine.create_resource(account.id, type="gif_avatar", name="cat.gif")
    with pytest.raises(Forbidden) as full:
        engine.create_resource(account.id, type="private_model", name="three")
    assert full.value.details == {"feature": "private_models", "limit": 2, "used": 2}
    engine.cancel_subscription(subscription.id)
    engine.advance_clock(to=subscription.current_period_end)
    after = engine.entitlements(account.id)
    assert (after.features["private_models"].limit, after.features["private_models"].used) == (0, 2)
    assert after.features["gif_avatar"].used == 1
    with pytest.raises(Forbidden):
        engine.create_resource(account.id, type="private_lora", name="after")
    with pytest.raises(InvalidRequest):
        engine.create_resource(account.id, type="castle", name="x")


def test_rule_17_free_trainings_are_used_recomputed_on_upgrade_and_reset_next_cycle(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("membership")
    account = make_account(engine)
    assert engine.use_free_training(account.id) is False  # [free] gives none
    subscription = engine.subscribe(account.id, plan="tier1", interval="month")
    assert [engine.use_free_training(account.id) for _ in range(4)] == [True, True, True, False]
    trainings = engine.entitlements(account.id).features["free_lora_trainings"]
    assert (trainings.limit, trainings.used, trainings.remaining) == (3, 3, 0)
    assert trainings.resets_at == subscription.current_period_end
    engine.advance_clock(seconds=86400)
    engine.change_plan(subscription.id, plan="tier3")  # 10 - 3 used = 7 left
    assert engine.entitlements(account.id).features["free_lora_trainings"].remaining == 7
    engine.advance_clock(to=subscription.current_period_end)
    reset = engine.entitlements(account.id).features["free_lora_trainings"]
    assert (reset.used, reset.remaining) == (0, 10)  # never carried over
