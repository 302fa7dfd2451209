"""The credit ledger through the Python API, on SQLite and PostgreSQL (rules 1 to 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from creditflow.catalog_file import load_catalog
from creditflow.clock import TestClock
from creditflow.domain.errors import (
    AccountExists,
    AccountSuspended,
    HoldNotActive,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
)
from creditflow.engine import Engine
from creditflow.services.credits import grant_credits
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import funded_account, ledger_sum, make_account


def test_rule_1_a_grant_records_kind_priority_expiry_channel_and_source(
    engine: Engine, clock: TestClock
) -> None:
    account = make_account(engine)
    expires = clock.now() + timedelta(days=30)
    grant = engine.grant(
        account.id,
        credits=500,
        kind="subscription",
        reason="cycle 1",
        expires_at=expires,
        channel="web",
        source_type="subscription",
        source_id="sub_1",
    )
    assert (grant.kind, grant.credits, grant.remaining, grant.channel) == (
        "subscription",
        500,
        500,
        "web",
    )
    assert grant.priority == engine.catalog.priority_of("subscription")  # type: ignore[arg-type]
    assert grant.expires_at == expires
    assert (grant.source.type, grant.source.id) == ("subscription", "sub_1")
    balance = engine.balance(account.id)
    assert balance.available == 500
    assert balance.by_kind == {"subscription": 500}
    assert [g.id for g in balance.grants] == [grant.id]


def test_a_grant_may_override_the_catalog_priority(engine: Engine) -> None:
    account = make_account(engine)
    first = engine.grant(account.id, credits=10, kind="purchased", reason="x", priority=0)
    engine.grant(account.id, credits=10, kind="subscription", reason="x")
    spend = engine.consume(account.id, credits=5)
    assert spend.allocations[0].grant_id == first.id


def test_rule_2_photo_catalog_spends_subscription_credits_before_lifetime(
    database_url: str, clock: TestClock
) -> None:
    catalog = load_catalog(REFERENCE_CATALOGS / "photo-credits.toml")
    with Engine(database_url=database_url, catalog=catalog, clock=clock) as engine:
        account = make_account(engine)
        engine.grant(account.id, credits=100, kind="purchased", reason="pack")
        engine.grant(
            account.id,
            credits=500,
            kind="subscription",
            reason="plan",
            expires_at=clock.now() + timedelta(days=30),
        )
        spend = engine.consume(account.id, credits=550)
        assert [(a.kind, a.credits) for a in spend.allocations] == [
            ("subscription", 500),
            ("purchased", 50),
        ]
        balance = engine.balance(account.id)
        assert balance.by_kind == {"purchased": 50}
        assert spend.balance.available == balance.available == 50


def test_rule_3_credits_bought_on_the_web_cannot_be_spent_in_the_app(engine: Engine) -> None:
    account = funded_account(engine, 100, channel="web")
    engine.grant(account.id, credits=10, kind="promo", reason="any channel")
    assert engine.balance(account.id, channel="app").available == 10
    assert engine.balance(account.id, channel="web").available == 110
    with pytest.raises(InsufficientCredits) as refused:
        engine.consume(account.id, credits=11, channel="app")
    assert refused.value.details == {"available": 10, "requested": 11}
    assert engine.consume(account.id, credits=110, channel="web").balance.available == 0


def test_rule_4_overspending_is_refused_and_changes_nothing(engine: Engine) -> None:
    account = funded_account(engine, 30)
    before = engine.ledger(account.id)
    with pytest.raises(InsufficientCredits) as refused:
        engine.consume(account.id, credits=31)
    assert (refused.value.available, refused.value.requested) == (30, 31)
    assert engine.ledger(account.id) == before
    assert engine.balance(account.id).available == 30


def test_rule_4_the_entries_of_an_account_sum_to_its_balance(
    engine: Engine, clock: TestClock
) -> None:
    account = funded_account(engine, 1000)
    engine.grant(
        account.id,
        credits=50,
        kind="daily",
        reason="d",
        expires_at=clock.now() + timedelta(hours=1),
    )
    engine.consume(account.id, credits=70)
    hold = engine.hold(account.id, credits=100)
    engine.capture(hold.id, credits=60)
    engine.hold(account.id, credits=5)
    balance = engine.balance(account.id)
    assert ledger_sum(engine, account.id) == (balance.available, balance.held) == (915, 5)
    assert engine.check() == []


def test_consume_is_idempotent_per_key(engine: Engine) -> None:
    account = funded_account(engine, 100)
    first = engine.consume(account.id, credits=40, idempotency_key="job-1")
    again = engine.consume(account.id, credits=40, idempotency_key="job-1")
    assert again == first
    assert engine.balance(account.id).available == 60
    with pytest.raises(IdempotencyKeyReused):
        engine.consume(account.id, credits=41, idempotency_key="job-1")
    assert engine.balance(account.id).available == 60


def test_a_refused_request_does_not_use_up_its_idempotency_key(engine: Engine) -> None:
    account = funded_account(engine, 10)
    with pytest.raises(InsufficientCredits):
        engine.consume(account.id, credits=20, idempotency_key="k")
    engine.grant(account.id, credits=10, kind="promo", reason="top up")
    assert engine.consume(account.id, credits=20, idempotency_key="k").balance.available == 0


def test_rule_5_a_hold_leaves_available_and_a_release_returns_it_to_the_same_grants(
    engine: Engine,
) -> None:
    account = funded_account(engine, 100)
    promo = engine.grant(account.id, credits=20, kind="promo", reason="p")
    hold = engine.hold(account.id, credits=50, reference="job_1")
    assert hold.status == "held"
    balance = engine.balance(account.id)
    assert (balance.available, balance.held) == (70, 50)
    released = engine.release(hold.id)
    assert (released.status, released.released) == ("released", 50)
    after = engine.balance(account.id)
    assert (after.available, after.held) == (120, 0)
    assert {g.id: g.remaining for g in after.grants}[promo.id] == 20
    with pytest.raises(HoldNotActive):
        engine.capture(hold.id)


def test_rule_5_capturing_part_of_a_hold_spends_that_part_and_releases_the_rest(
    engine: Engine,
) -> None:
    account = funded_account(engine, 100)
    hold = engine.hold(account.id, credits=40)
    captured = engine.capture(hold.id, credits=25)
    assert (captured.status, captured.captured, captured.released) == ("captured", 25, 15)
    assert engine.balance(account.id).available == 75
    types = [e.type for e in engine.ledger(account.id).data]
    assert types == ["release", "capture", "hold", "grant"]
    with pytest.raises(HoldNotActive):
        engine.release(hold.id)
    with pytest.raises(InvalidRequest):
        engine.capture(engine.hold(account.id, credits=5).id, credits=6)


def test_rule_5_a_hold_past_its_time_out_is_released_by_the_clock(
    engine: Engine, clock: TestClock
) -> None:
    account = funded_account(engine, 100)
    hold = engine.hold(account.id, credits=30, expires_in_seconds=600)
    engine.advance_clock(seconds=599)
    assert engine.get_hold(hold.id).status == "held"
    engine.advance_clock(seconds=1)
    settled = engine.get_hold(hold.id)
    assert (settled.status, settled.release_reason) == ("released", "timeout")
    assert engine.balance(account.id).available == 100


def test_rule_5_credits_released_onto_an_expired_grant_lapse_with_an_expire_entry(
    engine: Engine, clock: TestClock
) -> None:
    account = make_account(engine)
    engine.grant(
        account.id,
        credits=100,
        kind="daily",
        reason="d",
        expires_at=clock.now() + timedelta(hours=1),
    )
    hold = engine.hold(account.id, credits=40, expires_in_seconds=7200)
    engine.advance_clock(seconds=3600)
    assert engine.balance(account.id).available == 0  # the 60 unheld credits expired on time
    engine.release(hold.id)
    entries = engine.ledger(account.id).data
    assert [(e.type, e.credits) for e in entries[:2]] == [("expire", -40), ("release", 40)]
    balance = engine.balance(account.id)
    assert (balance.available, balance.held) == (0, 0)
    assert engine.check() == []


def test_grants_expire_at_their_expires_at_as_ledger_entries(
    engine: Engine, clock: TestClock
) -> None:
    account = funded_account(engine, 10)
    engine.grant(
        account.id, credits=90, kind="promo", reason="p", expires_at=clock.now() + timedelta(days=1)
    )
    engine.advance_clock(seconds=86399)
    assert engine.balance(account.id).available == 100
    engine.advance_clock(seconds=1)
    assert engine.balance(account.id).available == 10
    latest = engine.ledger(account.id).data[0]
    assert (latest.type, latest.credits, latest.balance_after) == ("expire", -90, 10)


def test_a_spend_never_uses_a_grant_past_its_expiry_even_before_the_queue_runs(
    engine: Engine, clock: TestClock
) -> None:
    account = make_account(engine)
    engine.grant(
        account.id,
        credits=50,
        kind="promo",
        reason="p",
        expires_at=clock.now() + timedelta(seconds=10),
    )
    clock.move_to(clock.now() + timedelta(seconds=10))  # time passes; no due work has run
    with pytest.raises(InsufficientCredits):
        engine.consume(account.id, credits=1)
    assert engine.balance(account.id).available == 0


def test_rule_6_purchased_credits_never_expire_by_default(engine: Engine) -> None:
    account = funded_account(engine, 100)
    engine.advance_clock(seconds=5 * 366 * 86400 // 2)
    assert engine.balance(account.id).available == 100
    assert engine.balance(account.id).grants[0].expires_at is None


def test_a_suspended_account_cannot_spend(engine: Engine) -> None:
    account = funded_account(engine, 100)
    with engine.db.begin() as connection:
        connection.execute(
            text("UPDATE accounts SET status = 'suspended' WHERE id = :id"), {"id": account.id}
        )
    with pytest.raises(AccountSuspended):
        engine.consume(account.id, credits=1)
    with pytest.raises(AccountSuspended):
        engine.hold(account.id, credits=1)


def test_unknown_ids_and_taken_external_ids_are_refused(engine: Engine) -> None:
    account = make_account(engine)
    with pytest.raises(AccountExists):
        engine.create_account(external_id=account.external_id, email="x@example.com")
    with pytest.raises(NotFound):
        engine.consume("acc_missing", credits=1)
    with pytest.raises(NotFound):
        engine.release("hld_missing")


@pytest.mark.parametrize(
    ("credits", "kind", "channel"),
    [
        (0, "promo", None),
        (-5, "promo", None),
        (10**12 + 1, "promo", None),
        (1, "gold", None),
        (1, "promo", "tv"),
    ],
)
def test_invalid_grants_are_refused_and_change_nothing(
    engine: Engine, credits: int, kind: str, channel: str | None
) -> None:
    account = make_account(engine)
    with pytest.raises(InvalidRequest):
        engine.grant(account.id, credits=credits, kind=kind, reason="x", channel=channel)
    assert engine.ledger(account.id).data == []


def test_a_restarted_test_clock_engine_resumes_where_its_clock_stood(
    database_url: str, clock: TestClock
) -> None:
    with Engine(database_url=database_url, clock=clock) as engine:
        account = make_account(engine)
        engine.grant(
            account.id,
            credits=5,
            kind="promo",
            reason="p",
            expires_at=clock.now() + timedelta(days=10),
        )
        engine.advance_clock(seconds=86400)
        stood = clock.now()
    restarted_clock = TestClock(stood - timedelta(days=1))  # a start before the saved time
    with Engine(database_url=database_url, clock=restarted_clock) as engine:
        assert restarted_clock.now() == stood
        engine.advance_clock(seconds=9 * 86400)
        assert engine.balance(account.id).available == 0


@pytest.mark.parametrize(
    ("corruption", "named"),
    [
        ("UPDATE grants SET remaining = remaining + 1", "grant:"),
        ("UPDATE accounts SET available = available + 1", "acc_"),
        ("UPDATE entries SET available_after = available_after + 1", "acc_"),
        ("UPDATE grants SET held = held + 1, remaining = remaining - 1", "held:"),
    ],
)
def test_check_finds_a_cached_number_that_disagrees_with_the_ledger(
    engine: Engine, corruption: str, named: str
) -> None:
    account = funded_account(engine, 100)
    engine.consume(account.id, credits=10)
    assert engine.check() == []
    with engine.db.begin() as connection:
        connection.execute(text(corruption))
    violations = engine.check()
    assert violations
    assert any(v.account.startswith(named) for v in violations), violations


def test_an_account_read_again_in_its_transaction_shows_that_transactions_changes(
    engine: Engine, clock: TestClock
) -> None:
    """A locked account is read once per transaction (a renewal reads it for the order, the
    grant, the invoice and the mail); what the transaction does to it still shows."""
    account = funded_account(engine, credits=100)
    with engine.context.writing() as uow:
        assert uow.accounts.get(account.id, for_update=True).available == 100  # type: ignore[union-attr]
        grant_credits(
            uow,
            catalog=engine.catalog,
            now=clock.now(),
            account_id=account.id,
            credits=50,
            kind="purchased",
            reason="read again",
        )
        assert uow.accounts.get(account.id).available == 150  # type: ignore[union-attr]
        uow.accounts.set_status(account.id, "suspended", suspension="support")
        assert uow.accounts.get(account.id, for_update=True).status == "suspended"  # type: ignore[union-attr]
        uow.commit()
    assert engine.balance(account.id).available == 150
