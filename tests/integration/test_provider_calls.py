"""Money moves once: every provider call is recorded before it is made, keyed by our own id,
retried from the due-work queue while the provider is down, and lands once (issue 9).

The real Stripe adapter talks HTTP to a stand-in on loopback that can be taken down and up.
"""

from __future__ import annotations

import pytest

from creditflow.domain.errors import ProviderRefused, ProviderUnavailable
from creditflow.engine import Engine
from creditflow.services.views import OrderView
from tests.factories import make_account
from tests.hosted import RETURN_TO
from tests.stripe_api import StripeApi

CHECKOUTS, REFUNDS = "/v1/checkout/sessions", "/v1/refunds"


@pytest.fixture
def stripe(stripe_api: StripeApi) -> StripeApi:
    return stripe_api


@pytest.fixture
def engine(engine_on_stripe: Engine) -> Engine:
    return engine_on_stripe


def paid_stripe_order(engine: Engine) -> OrderView:
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100", provider="stripe", **RETURN_TO)
    return engine.record_payment(
        order.id, provider="stripe", provider_payment_id="pi_3Q1", amount=order.total.amount
    )


def test_a_checkout_while_stripe_is_down_keeps_one_order_and_a_retry_opens_it(
    engine: Engine, stripe: StripeApi
) -> None:
    account = make_account(engine)
    stripe.down = True
    with pytest.raises(ProviderUnavailable) as refused:
        engine.checkout(
            account.id, product="credits_100", provider="stripe", idempotency_key="k1", **RETURN_TO
        )
    [order] = engine.orders(account.id).data
    assert (order.status, order.checkout_url) == ("pending", None)
    assert refused.value.details["order_id"] == order.id

    again_down = pytest.raises(ProviderUnavailable)
    with again_down:
        engine.checkout(
            account.id, product="credits_100", provider="stripe", idempotency_key="k1", **RETURN_TO
        )
    stripe.down = False
    opened = engine.checkout(
        account.id, product="credits_100", provider="stripe", idempotency_key="k1", **RETURN_TO
    )
    assert (
        opened.id == order.id
        and opened.checkout_url == "https://checkout.stripe.com/c/pay/cs_test_1"
    )
    assert [o.id for o in engine.orders(account.id).data] == [order.id]  # one order, never two
    # Every attempt asked Stripe with the same key, derived from our order's id.
    assert {r.idempotency_key for r in stripe.calls_to(CHECKOUTS)} == {f"checkout-{order.id}"}
    assert len(stripe.calls_to(CHECKOUTS)) == 3

    replay = engine.checkout(
        account.id, product="credits_100", provider="stripe", idempotency_key="k1", **RETURN_TO
    )
    assert replay == opened and len(stripe.calls_to(CHECKOUTS)) == 3  # the answer, no new call


def test_a_checkout_nobody_retries_is_opened_by_the_due_work_queue(
    engine: Engine, stripe: StripeApi
) -> None:
    account = make_account(engine)
    stripe.down = True
    with pytest.raises(ProviderUnavailable):
        engine.checkout(account.id, product="credits_100", provider="stripe", **RETURN_TO)
    stripe.down = False
    engine.advance_clock(seconds=31)  # the first back-off is 30 s
    [order] = engine.orders(account.id).data
    assert order.checkout_url == "https://checkout.stripe.com/c/pay/cs_test_1"
    engine.advance_clock(seconds=3600)
    assert len(stripe.calls_to(CHECKOUTS)) == 2  # opened once: the queue holds nothing more


def test_a_checkout_stripe_keeps_refusing_fails_the_order_after_its_last_retry(
    engine: Engine, stripe: StripeApi
) -> None:
    account = make_account(engine)
    stripe.down = True
    with pytest.raises(ProviderUnavailable):
        engine.checkout(account.id, product="credits_100", provider="stripe", **RETURN_TO)
    engine.advance_clock(seconds=2 * 3600)  # 30 s, 2 min, 10 min, 30 min: four more tries
    [order] = engine.orders(account.id).data
    assert order.status == "failed" and len(stripe.calls_to(CHECKOUTS)) == 5


def test_a_partial_refund_while_stripe_is_down_is_sent_again_and_lands_once(
    engine: Engine, stripe: StripeApi
) -> None:
    order = paid_stripe_order(engine)
    stripe.down = True
    with pytest.raises(ProviderUnavailable) as first:
        engine.refund_order(order.id, amount=200, reason="goodwill", idempotency_key="r1")
    refund_id = first.value.details["refund_id"]
    with pytest.raises(ProviderUnavailable) as second:
        engine.refund_order(order.id, amount=200, reason="goodwill", idempotency_key="r1")
    assert second.value.details["refund_id"] == refund_id  # the same refund, not another one
    [pending] = engine.order(order.id).refunds
    assert (pending.id, pending.status) == (refund_id, "pending")

    stripe.down = False
    engine.advance_clock(seconds=150)  # past the back-off: the queue sends it again
    landed = engine.refund(refund_id)
    assert (landed.status, landed.amount.amount) == ("succeeded", 200)
    assert engine.order(order.id).status == "partially_refunded"
    assert [n.total.amount for n in engine.invoice(order.id).credit_notes] == [200]

    answer = engine.refund_order(order.id, amount=200, reason="goodwill", idempotency_key="r1")
    assert answer == landed
    sent = stripe.calls_to(REFUNDS)
    assert {r.idempotency_key for r in sent} == {f"refund-{refund_id}"}
    assert stripe.refunds_made() == 1  # Stripe made one refund, whatever the retries
    engine.advance_clock(seconds=86400)
    assert len(stripe.calls_to(REFUNDS)) == len(sent)  # nothing left to send
    assert len(engine.order(order.id).refunds) == 1


def test_a_refund_while_nothing_listens_is_kept_and_retried(
    engine: Engine, stripe: StripeApi
) -> None:
    order = paid_stripe_order(engine)
    stripe.stop()
    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        engine.refund_order(order.id, reason="duplicate")
    stripe.start()
    engine.advance_clock(seconds=31)
    [refund] = engine.order(order.id).refunds
    assert refund.status == "succeeded"
    assert engine.order(order.id).status == "refunded"
    assert engine.balance(order.account_id).available == 0


def test_an_approved_request_stands_while_stripe_is_down_and_its_refund_follows(
    engine: Engine, stripe: StripeApi
) -> None:
    order = paid_stripe_order(engine)
    request = engine.submit_refund_request(order_id=order.id, reason="duplicate_charge")
    stripe.down = True
    decided = engine.decide_refund_request(
        request.id, outcome="approve_full", note="as asked", idempotency_key="d1"
    )
    assert decided.status == "approved" and decided.refund_id is not None
    assert engine.refund(decided.refund_id).status == "pending"
    assert (
        engine.decide_refund_request(
            request.id, outcome="approve_full", note="as asked", idempotency_key="d1"
        )
        == decided
    )  # the answer the client got, replayed
    stripe.down = False
    engine.advance_clock(seconds=31)
    assert engine.refund(decided.refund_id).status == "succeeded"
    assert engine.order(order.id).status == "refunded"
    assert stripe.refunds_made() == 1


def test_a_refund_stripe_refuses_fails_at_once_and_is_not_retried(
    engine: Engine, stripe: StripeApi
) -> None:
    order = paid_stripe_order(engine)
    stripe.refusing = True
    with pytest.raises(ProviderRefused, match="Stripe answered 400"):
        engine.refund_order(order.id, reason="requested", idempotency_key="r9")
    [refund] = engine.order(order.id).refunds
    assert refund.status == "failed" and engine.order(order.id).status == "paid"
    with pytest.raises(ProviderRefused):  # the same key gets the same answer, no new call
        engine.refund_order(order.id, reason="requested", idempotency_key="r9")
    engine.advance_clock(seconds=86400)
    assert len(stripe.calls_to(REFUNDS)) == 1
    assert engine.balance(order.account_id).available == 100  # nothing was taken back
