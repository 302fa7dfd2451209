"""Stripe webhooks verified as Stripe documents, read into our events; its API called right."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from creditflow.payments.errors import ProviderError
from creditflow.payments.events import (
    CheckoutRequest,
    EventKind,
    RefundRequest,
    WebhookRejected,
)
from creditflow.payments.stripe import StripeAdapter
from tests.providers import (
    Recorder,
    one_byte_changed,
    payload,
    recorded,
    reserialized,
    stripe_header,
)

SECRET = "whsec_test_current"
T = 1_795_000_000


def adapter(secrets: list[str] | None = None, **kwargs: object) -> StripeAdapter:
    return StripeAdapter(api_key="sk_test_1", webhook_secrets=secrets or [SECRET], **kwargs)  # type: ignore[arg-type]


def parse(name: str, *, secret: str = SECRET, now: float = T, body: bytes | None = None):  # type: ignore[no-untyped-def]
    raw = payload("stripe", name)
    header = stripe_header(raw, secret, T)
    [event] = adapter().parse_webhook(
        {"Stripe-Signature": header}, raw if body is None else body, now=now
    )
    return event


def test_a_paid_checkout_is_a_payment_of_our_order() -> None:
    event = parse("checkout.session.completed")
    assert (event.kind, event.event_id, event.type) == (
        EventKind.PAYMENT_SUCCEEDED,
        "evt_1QcheckoutA",
        "checkout.session.completed",
    )
    assert (event.order_id, event.payment_id, event.amount, event.currency) == (
        "ord_1",
        "pi_3Q1",
        499,
        "USD",
    )
    assert (event.checkout_ref, event.customer_ref) == ("cs_test_a1", "cus_Q1")


def test_a_subscription_checkout_pays_with_its_first_invoice_and_links_the_subscription() -> None:
    event = parse("checkout.session.completed.subscription")
    assert (event.payment_id, event.subscription_ref, event.order_id) == (
        "in_1Q",
        "sub_1Q",
        "ord_2",
    )


def test_invoice_events_are_renewal_payments_and_failures() -> None:
    paid = parse("invoice.paid")
    assert (paid.kind, paid.payment_id, paid.subscription_ref, paid.amount, paid.order_id) == (
        EventKind.PAYMENT_SUCCEEDED,
        "in_2Q",
        "sub_1Q",
        999,
        "ord_2",
    )
    failed = parse("invoice.payment_failed")
    assert (failed.kind, failed.subscription_ref, failed.amount) == (
        EventKind.PAYMENT_FAILED,
        "sub_1Q",
        999,
    )


def test_charge_refunded_carries_the_running_total_and_the_card_fingerprint() -> None:
    event = parse("charge.refunded")
    assert (event.kind, event.refunded_total, event.refund_id) == (EventKind.REFUND, 200, None)
    assert (event.payment_id, event.fingerprint) == ("pi_3Q1", "Xt5EWLLDS7FJjR1c")


def test_refund_created_is_one_refund_with_its_status() -> None:
    event = parse("refund.created")
    assert (event.refund_id, event.amount, event.refund_status, event.payment_id) == (
        "re_3Q1",
        200,
        "succeeded",
        "pi_3Q1",
    )


def test_disputes_open_and_close_as_won_or_lost() -> None:
    opened = parse("charge.dispute.created")
    assert (opened.kind, opened.dispute_id, opened.amount, opened.payment_id) == (
        EventKind.DISPUTE_OPENED,
        "dp_1Q",
        499,
        "pi_3Q1",
    )
    closed = parse("charge.dispute.closed")
    assert (closed.kind, closed.dispute_status) == (EventKind.DISPUTE_CLOSED, "won")


def test_a_deleted_subscription_is_a_cancellation_and_unknown_types_are_ignored() -> None:
    assert parse("customer.subscription.deleted").kind is EventKind.SUBSCRIPTION_CANCELED
    assert parse("customer.created").kind is EventKind.IGNORED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: {"secret": "whsec_wrong"},
        lambda raw: {"body": one_byte_changed(raw)},
        lambda raw: {"body": reserialized(raw)},
    ],
    ids=["wrong secret", "one byte changed", "re-serialized JSON"],
)
def test_a_signature_that_does_not_match_is_rejected(tamper) -> None:  # type: ignore[no-untyped-def]
    raw = payload("stripe", "checkout.session.completed")
    with pytest.raises(WebhookRejected) as rejected:
        parse("checkout.session.completed", **tamper(raw))
    assert rejected.value.event_id in ("evt_1QcheckoutA", None)


def test_a_stale_signature_is_rejected_and_one_inside_the_tolerance_passes() -> None:
    assert parse("checkout.session.completed", now=T + 299).order_id == "ord_1"
    with pytest.raises(WebhookRejected, match="old"):
        parse("checkout.session.completed", now=T + 301)
    with pytest.raises(WebhookRejected, match="old"):
        parse("checkout.session.completed", now=T - 301)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": ""},
        {"Stripe-Signature": "garbage"},
        {"Stripe-Signature": "t=abc,v1=00"},
        {"Stripe-Signature": f"t={T}"},
    ],
)
def test_a_missing_or_malformed_header_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected):
        adapter().parse_webhook(headers, payload("stripe", "refund.created"), now=T)


def test_during_a_rotation_both_secrets_verify_and_a_header_may_carry_two_signatures() -> None:
    raw = payload("stripe", "refund.created")
    rotating = adapter(["whsec_new", "whsec_old"])
    old = stripe_header(raw, "whsec_old", T)
    assert rotating.parse_webhook({"stripe-signature": old}, raw, now=T)[0].refund_id == "re_3Q1"
    unknown = stripe_header(raw, "whsec_other", T).split(",")[1]
    both = f"{stripe_header(raw, 'whsec_new', T)},{unknown}"
    assert rotating.parse_webhook({"Stripe-Signature": both}, raw, now=T)
    with pytest.raises(WebhookRejected):
        adapter(["whsec_new"]).parse_webhook({"Stripe-Signature": old}, raw, now=T)


def test_a_checkout_is_created_with_our_order_in_its_metadata_and_an_idempotency_key() -> None:
    server = Recorder(
        {("POST", "/v1/checkout/sessions"): (200, recorded("stripe", "response.checkout_session"))}
    )
    session = adapter(client=server.client()).create_checkout(
        CheckoutRequest(
            order_id="ord_1",
            account_id="acc_1",
            email="ada@example.com",
            amount=499,
            currency="USD",
            description="100 credits",
            mode="payment",
            product_ref="credits_100",
        )
    )
    assert session.provider_ref == "cs_test_a1"
    assert session.url.startswith("https://checkout.stripe.com/")
    [sent] = server.requests
    assert sent.headers["Authorization"] == "Bearer sk_test_1"
    assert sent.headers["Idempotency-Key"] == "checkout-ord_1"
    form = {k: v[0] for k, v in parse_qs(sent.content.decode()).items()}
    assert form["mode"] == "payment" and form["client_reference_id"] == "ord_1"
    assert form["line_items[0][price_data][unit_amount]"] == "499"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["metadata[order_id]"] == "ord_1"
    assert form["payment_intent_data[metadata][order_id]"] == "ord_1"


def test_a_subscription_checkout_recurs_and_tags_the_subscription() -> None:
    server = Recorder(
        {("POST", "/v1/checkout/sessions"): (200, recorded("stripe", "response.checkout_session"))}
    )
    adapter(client=server.client()).create_checkout(
        CheckoutRequest(
            order_id="ord_2",
            account_id="acc_1",
            email="a@b.c",
            amount=999,
            currency="USD",
            description="Basic",
            mode="subscription",
            product_ref="basic",
            interval="month",
        )
    )
    form = {k: v[0] for k, v in parse_qs(server.requests[0].content.decode()).items()}
    assert form["line_items[0][price_data][recurring][interval]"] == "month"
    assert form["subscription_data[metadata][order_id]"] == "ord_2"


def test_a_refund_names_the_payment_intent_and_carries_our_idempotency_key() -> None:
    server = Recorder({("POST", "/v1/refunds"): (200, recorded("stripe", "response.refund"))})
    result = adapter(client=server.client()).refund(
        RefundRequest(
            order_id="ord_1",
            payment_id="pi_3Q1",
            amount=200,
            currency="USD",
            reason="requested",
            idempotency_key="refund-rfn_1",
        )
    )
    assert (result.provider_refund_id, result.status) == ("re_3Q1", "succeeded")
    [sent] = server.requests
    assert sent.headers["Idempotency-Key"] == "refund-rfn_1"
    form = {k: v[0] for k, v in parse_qs(sent.content.decode()).items()}
    assert (form["payment_intent"], form["amount"]) == ("pi_3Q1", "200")


def test_an_error_from_stripe_is_a_provider_error_with_its_message() -> None:
    server = Recorder({("POST", "/v1/refunds"): (400, recorded("stripe", "response.error"))})
    with pytest.raises(ProviderError, match="already been refunded"):
        adapter(client=server.client()).refund(
            RefundRequest(
                order_id="o",
                payment_id="ch_3Q1",
                amount=1,
                currency="USD",
                reason="r",
                idempotency_key="k",
            )
        )
