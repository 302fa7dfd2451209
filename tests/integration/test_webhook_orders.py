"""Provider events applied once each and in any order reach one state (issue 5, rules 12, 22).

The events go through the service layer as the adapters hand them over; the adapters' own
signature and parsing tests are in tests/unit/test_provider_*.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditflow.clock import TestClock
from creditflow.engine import Engine
from creditflow.payments.events import EventKind, ProviderEvent
from creditflow.services.webhooks import receive_event
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import make_account
from tests.hosted import RETURN_TO, RecordingAdapter


@pytest.fixture
def stripe_engine(database_url: str, clock: TestClock, tmp_path: Path) -> Iterator[Engine]:
    with Engine(
        database_url=database_url,
        clock=clock,
        catalog=REFERENCE_CATALOGS / "photo-credits.toml",
        adapters={"stripe": RecordingAdapter()},
        data_dir=tmp_path / "data",
    ) as engine:
        yield engine


def deliver(engine: Engine, event: ProviderEvent) -> str:
    return engine.context.run_plain(
        lambda uow: receive_event(
            uow,
            catalog=engine.catalog,
            providers=engine.context.providers,
            event=event,
            payload="{}",
            now=engine.clock.now(),
        )
    )


def event(tag: str, kind: EventKind, **fields: Any) -> ProviderEvent:
    return ProviderEvent(
        provider="stripe", event_id=f"evt_{tag}", type=kind.value, kind=kind, **fields
    )


def subscription_story(order_id: str, n: str) -> list[ProviderEvent]:
    """First payment, a renewal, a refund told twice (single and running total), a chargeback
    on the renewal opened and lost."""
    sub, first, renewal = f"sub_{n}", f"in_{n}_1", f"in_{n}_2"
    return [
        event(
            f"{n}_paid",
            EventKind.PAYMENT_SUCCEEDED,
            order_id=order_id,
            payment_id=first,
            subscription_ref=sub,
            amount=999,
            fingerprint="fp_card",
        ),
        event(
            f"{n}_renewed",
            EventKind.PAYMENT_SUCCEEDED,
            payment_id=renewal,
            subscription_ref=sub,
            amount=999,
        ),
        event(
            f"{n}_refund",
            EventKind.REFUND,
            payment_id=first,
            refund_id=f"re_{n}",
            amount=300,
            refund_status="succeeded",
        ),
        event(f"{n}_refunded", EventKind.REFUND, payment_id=first, refunded_total=300),
        event(
            f"{n}_dispute",
            EventKind.DISPUTE_OPENED,
            payment_id=renewal,
            dispute_id=f"dp_{n}",
            amount=999,
        ),
        event(
            f"{n}_lost",
            EventKind.DISPUTE_CLOSED,
            payment_id=renewal,
            dispute_id=f"dp_{n}",
            dispute_status="lost",
        ),
    ]


def final_state(engine: Engine, account_id: str, subscription_id: str) -> dict[str, Any]:
    orders = engine.orders(account_id).data
    subscription = engine.subscription(subscription_id)
    credited = sum(
        note.total.amount
        for order in orders
        if order.status != "pending" and order.paid_at
        for note in engine.invoice(order.id).credit_notes
    )
    return {
        "orders": sorted((o.kind, o.status, len(o.payments)) for o in orders),
        "subscription": (subscription.status, subscription.current_period_end),
        "account": engine.account(account_id).status,
        "balance": engine.balance(account_id).available,
        "credited": credited,
    }


_counter = iter(range(10**6))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations(range(6)))
def test_any_arrival_order_of_payment_renewal_refund_and_chargeback_ends_alike(
    stripe_engine: Engine, order: list[int]
) -> None:
    engine = stripe_engine
    n = str(next(_counter))
    account = make_account(engine).id
    subscription = engine.subscribe(
        account, plan="basic", interval="month", provider="stripe", **RETURN_TO
    )
    assert subscription.status == "incomplete" and subscription.checkout_url
    story = subscription_story(subscription.order_id or "", n)
    for index in order:
        deliver(engine, story[index])
    state = final_state(engine, account, subscription.id)
    assert state == {
        "orders": [("renewal", "refunded", 1), ("subscription", "partially_refunded", 1)],
        "subscription": ("active", subscription.current_period_end.replace(month=3)),
        "account": "suspended",
        "balance": 0,  # the lost chargeback took the plan's credits back
        "credited": 300,  # a lost chargeback is on record as a dispute, not a credit note
    }


def test_the_same_event_ten_times_and_twice_at_once_has_one_effect(stripe_engine: Engine) -> None:
    engine = stripe_engine
    account = make_account(engine).id
    order = engine.checkout(account, product="credits_100", provider="stripe", **RETURN_TO)
    assert order.status == "pending" and order.checkout_url == f"https://pay.example/{order.id}"
    paid = event(
        "once", EventKind.PAYMENT_SUCCEEDED, order_id=order.id, payment_id="pi_1", amount=499
    )
    outcomes = [deliver(engine, paid) for _ in range(10)]
    assert outcomes == ["applied"] + ["duplicate"] * 9
    twin = event(
        "twin",
        EventKind.REFUND,
        order_id=order.id,
        payment_id="pi_1",
        refund_id="re_twin",
        amount=100,
        refund_status="succeeded",
    )
    results: list[str] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        results.append(deliver(engine, twin))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["applied", "duplicate"]
    final = engine.order(order.id)
    assert (final.status, len(final.payments)) == ("partially_refunded", 1)
    assert [n.total.amount for n in engine.invoice(order.id).credit_notes] == [100]
    assert engine.balance(account).available == 100


def test_rule_22_a_second_payment_of_one_checkout_is_flagged_and_credits_granted_once(
    stripe_engine: Engine,
) -> None:
    engine = stripe_engine
    account = make_account(engine).id
    order = engine.checkout(account, product="credits_100", provider="stripe", **RETURN_TO)
    deliver(
        engine,
        event(
            "p1",
            EventKind.PAYMENT_SUCCEEDED,
            order_id=order.id,
            payment_id="pi_a",
            amount=499,
            fingerprint="fp_1",
        ),
    )
    deliver(
        engine,
        event(
            "p2",
            EventKind.PAYMENT_SUCCEEDED,
            order_id=order.id,
            payment_id="pi_b",
            amount=499,
            fingerprint="fp_1",
        ),
    )
    after = engine.order(order.id)
    assert after.duplicate_charge and [p.duplicate for p in after.payments] == [False, True]
    assert {p.fingerprint for p in after.payments} == {"fp_1"}
    assert engine.balance(account).available == 100


def test_an_event_for_no_order_of_ours_is_kept_unmatched(stripe_engine: Engine) -> None:
    engine = stripe_engine
    stray = event(
        "stray",
        EventKind.REFUND,
        payment_id="pi_unknown",
        refund_id="re_x",
        amount=5,
        refund_status="succeeded",
    )
    assert deliver(engine, stray) == "unmatched"
    assert [e.event_id for e in engine.unmatched_webhooks()] == ["evt_stray"]
    ignored = event("other", EventKind.IGNORED)
    assert deliver(engine, ignored) == "ignored"


def test_a_declined_renewal_makes_the_subscription_past_due(stripe_engine: Engine) -> None:
    engine = stripe_engine
    account = make_account(engine).id
    subscription = engine.subscribe(
        account, plan="basic", interval="month", provider="stripe", **RETURN_TO
    )
    deliver(
        engine,
        event(
            "first",
            EventKind.PAYMENT_SUCCEEDED,
            order_id=subscription.order_id,
            payment_id="in_1",
            subscription_ref="sub_x",
            amount=999,
        ),
    )
    assert engine.subscription(subscription.id).status == "active"
    engine.advance_clock(to=subscription.current_period_end)  # our clock opens the renewal
    renewal = next(o for o in engine.orders(account).data if o.kind == "renewal")
    assert renewal.status == "pending"  # Stripe bills it on its own
    deliver(
        engine,
        event(
            "declined",
            EventKind.PAYMENT_FAILED,
            payment_id="in_2",
            subscription_ref="sub_x",
            amount=999,
        ),
    )
    assert engine.subscription(subscription.id).status == "past_due"
    assert engine.order(renewal.id).status == "failed"


def test_support_sees_the_newest_unmatched_events_first(stripe_engine: Engine) -> None:
    engine = stripe_engine
    for n in range(3):
        stray = event(
            f"stray{n}",
            EventKind.REFUND,
            payment_id=f"pi_unknown{n}",
            refund_id=f"re_{n}",
            amount=5,
            refund_status="succeeded",
        )
        assert deliver(engine, stray) == "unmatched"
    oldest = [e.event_id for e in engine.unmatched_webhooks()]
    assert oldest == ["evt_stray0", "evt_stray1", "evt_stray2"]  # the order they are retried in
    newest = [e.event_id for e in engine.unmatched_webhooks(newest_first=True, limit=2)]
    assert newest == ["evt_stray2", "evt_stray1"]
