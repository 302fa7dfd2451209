"""Stripe webhooks verified as Stripe documents, read into our events; its API called right."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from stripe import WebhookSignature

from creditflow.payments.errors import ProviderError
from creditflow.payments.events import (
    CheckoutRequest,
    EventKind,
    ProviderEvent,
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


def edited(name: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    """A recorded event changed, then signed afresh by the test: a variant Stripe could send."""
    event = json.loads(payload("stripe", name))
    change(event)
    return json.dumps(event).encode()


def parse_signed(raw: bytes, **kwargs: Any) -> ProviderEvent:
    [event] = adapter(**kwargs).parse_webhook(
        {"Stripe-Signature": stripe_header(raw, SECRET, T)}, raw, now=T
    )
    return event


PAYMENT = CheckoutRequest(
    order_id="ord_1",
    account_id="acc_1",
    email="ada@example.com",
    amount=499,
    currency="USD",
    description="100 credits",
    mode="payment",
    product_ref="credits_100",
    success_url="https://shop.example/thanks",
    cancel_url="https://shop.example/cart",
)
REFUND = RefundRequest(
    order_id="ord_1",
    payment_id="pi_3Q1",
    amount=200,
    currency="USD",
    reason="requested",
    idempotency_key="refund-rfn_1",
)


def form_of(request: httpx.Request) -> dict[str, str]:
    parsed = parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values())
    return {key: values[0] for key, values in parsed.items()}


def test_the_test_header_is_the_one_stripes_sdk_builds() -> None:
    raw = payload("stripe", "checkout.session.completed")
    sdk = WebhookSignature.generate_signature_header(raw.decode(), SECRET, timestamp=T)
    assert stripe_header(raw, SECRET, T) == sdk


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
    assert event.occurred_at == datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)
    assert event.occurred_at.timestamp() == 1_795_000_000
    assert event.fingerprint == "cus_Q1"  # no card on a session: the customer links accounts
    assert event.provider == "stripe" and event.raw["data"]["object"]["id"] == "cs_test_a1"


def test_a_session_completed_unpaid_waits_for_its_delayed_payment() -> None:
    def unpaid(event: dict[str, Any]) -> None:
        event["data"]["object"]["payment_status"] = "unpaid"

    assert parse_signed(edited("checkout.session.completed", unpaid)).kind is EventKind.IGNORED


def test_a_delayed_payment_that_fails_is_a_failed_payment_of_our_order() -> None:
    event = parse("checkout.session.async_payment_failed")
    assert (event.kind, event.order_id, event.payment_id, event.amount, event.currency) == (
        EventKind.PAYMENT_FAILED,
        "ord_3",
        "pi_3Q2",
        499,
        "EUR",
    )

    def succeeded(event: dict[str, Any]) -> None:
        event["type"] = "checkout.session.async_payment_succeeded"
        event["data"]["object"]["payment_status"] = "paid"

    late = parse_signed(edited("checkout.session.async_payment_failed", succeeded))
    assert (late.kind, late.payment_id) == (EventKind.PAYMENT_SUCCEEDED, "pi_3Q2")


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
    assert paid.raw["data"]["object"]["billing_reason"] == "subscription_cycle"
    failed = parse("invoice.payment_failed")
    assert (failed.kind, failed.subscription_ref, failed.amount) == (
        EventKind.PAYMENT_FAILED,
        "sub_1Q",
        999,
    )


def test_an_invoice_of_an_older_api_version_reads_the_same() -> None:
    event = parse("invoice.payment_succeeded")
    assert (event.kind, event.payment_id, event.subscription_ref, event.order_id) == (
        EventKind.PAYMENT_SUCCEEDED,
        "in_4Q",
        "sub_1Q",
        "ord_2",
    )
    assert event.amount == 999


def test_an_invoice_whose_order_is_only_on_its_subscription_line_still_finds_it() -> None:
    def lines_only(event: dict[str, Any]) -> None:
        invoice = event["data"]["object"]
        del invoice["subscription"], invoice["subscription_details"]
        line = invoice["lines"]["data"][0]
        del line["subscription"]
        line["parent"] = {
            "type": "subscription_item_details",
            "subscription_item_details": {"subscription": "sub_1Q", "subscription_item": "si_1"},
        }

    event = parse_signed(edited("invoice.payment_succeeded", lines_only))
    assert (event.order_id, event.subscription_ref) == ("ord_2", "sub_1Q")


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
    assert (event.kind, event.refunded_total, event.order_id) == (EventKind.REFUND, None, "ord_1")


def test_a_canceled_refund_is_a_failed_one() -> None:
    event = parse("refund.updated")
    assert (event.kind, event.refund_id, event.amount, event.refund_status) == (
        EventKind.REFUND,
        "re_3Q9",
        100,
        "failed",
    )


def test_disputes_open_and_close_as_won_or_lost() -> None:
    opened = parse("charge.dispute.created")
    assert (opened.kind, opened.dispute_id, opened.amount, opened.payment_id) == (
        EventKind.DISPUTE_OPENED,
        "dp_1Q",
        499,
        "pi_3Q1",
    )
    assert opened.dispute_status == "open"
    closed = parse("charge.dispute.closed")
    assert (closed.kind, closed.dispute_status, closed.dispute_id) == (
        EventKind.DISPUTE_CLOSED,
        "won",
        "dp_1Q",
    )


@pytest.mark.parametrize(
    ("status", "outcome"), [("won", "won"), ("warning_closed", "won"), ("lost", "lost")]
)
def test_a_closed_dispute_is_won_or_lost_by_its_status(status: str, outcome: str) -> None:
    def closed_as(event: dict[str, Any]) -> None:
        event["data"]["object"]["status"] = status

    event = parse_signed(edited("charge.dispute.closed", closed_as))
    assert (event.kind, event.dispute_status) == (EventKind.DISPUTE_CLOSED, outcome)


def test_a_deleted_subscription_is_a_cancellation_and_unknown_types_are_ignored() -> None:
    deleted = parse("customer.subscription.deleted")
    assert (deleted.kind, deleted.subscription_ref, deleted.order_id) == (
        EventKind.SUBSCRIPTION_CANCELED,
        "sub_1Q",
        "ord_2",
    )
    unknown = parse("customer.created")
    assert (unknown.kind, unknown.event_id, unknown.type) == (
        EventKind.IGNORED,
        "evt_1Qcustomer",
        "customer.created",
    )


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


def test_a_rejection_names_the_event_from_the_unverified_body_for_the_log() -> None:
    with pytest.raises(WebhookRejected) as rejected:
        parse("refund.created", secret="whsec_wrong")
    assert rejected.value.event_id == "evt_1Qrefund"
    with pytest.raises(WebhookRejected) as unreadable:
        adapter().parse_webhook({"Stripe-Signature": f"t={T},v1=00"}, b"not json", now=T)
    assert unreadable.value.event_id is None


def test_a_stale_signature_is_rejected_and_one_inside_the_tolerance_passes() -> None:
    assert parse("checkout.session.completed", now=T + 299).order_id == "ord_1"
    with pytest.raises(WebhookRejected, match="old"):
        parse("checkout.session.completed", now=T + 301)
    with pytest.raises(WebhookRejected, match="old"):
        parse("checkout.session.completed", now=T - 301)


def test_the_tolerance_is_the_configured_one() -> None:
    raw = payload("stripe", "refund.created")
    header = {"Stripe-Signature": stripe_header(raw, SECRET, T)}
    strict = adapter(tolerance_seconds=10)
    assert strict.parse_webhook(header, raw, now=T + 10)
    with pytest.raises(WebhookRejected, match="old"):
        strict.parse_webhook(header, raw, now=T + 11)


def test_a_fresh_timestamp_appended_to_a_captured_header_does_not_replay_it() -> None:
    raw = payload("stripe", "refund.created")
    captured = stripe_header(raw, SECRET, T)
    with pytest.raises(WebhookRejected):
        adapter().parse_webhook({"Stripe-Signature": f"{captured},t={T + 3600}"}, raw, now=T + 3600)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": ""},
        {"Stripe-Signature": "garbage"},
        {"Stripe-Signature": "t=abc,v1=00"},
        {"Stripe-Signature": f"t={T}"},
        {"Stripe-Signature": f"t={T},v0=00"},
        {"Stripe-Signature": f"t={T},t={T},v1=00"},
        {"Stripe-Signature": "t=-5,v1=00"},
        {"Other": f"t={T},v1=00"},
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
    session = adapter(client=server.client()).create_checkout(PAYMENT)
    assert session.provider_ref == "cs_test_a1"
    assert session.url == recorded("stripe", "response.checkout_session")["url"]
    [sent] = server.requests
    assert (sent.method, str(sent.url)) == ("POST", "https://api.stripe.com/v1/checkout/sessions")
    assert sent.headers["Authorization"] == "Bearer sk_test_1"
    assert sent.headers["Idempotency-Key"] == "checkout-ord_1"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(sent) == {
        "mode": "payment",
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        "client_reference_id": "ord_1",
        "customer_email": "ada@example.com",
        "metadata[order_id]": "ord_1",
        "metadata[account_id]": "acc_1",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "499",
        "line_items[0][price_data][product_data][name]": "100 credits",
        "payment_intent_data[metadata][order_id]": "ord_1",
        "payment_intent_data[metadata][account_id]": "acc_1",
    }


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
            success_url="https://shop.example/thanks",
            cancel_url="https://shop.example/cart",
            interval="month",
        )
    )
    form = form_of(server.requests[0])
    assert form["mode"] == "subscription"
    assert form["line_items[0][price_data][recurring][interval]"] == "month"
    assert form["subscription_data[metadata][order_id]"] == "ord_2"
    assert form["subscription_data[metadata][account_id]"] == "acc_1"
    assert not any(key.startswith("payment_intent_data") for key in form)


def test_a_refund_names_the_payment_intent_and_carries_our_idempotency_key() -> None:
    server = Recorder({("POST", "/v1/refunds"): (200, recorded("stripe", "response.refund"))})
    result = adapter(client=server.client()).refund(REFUND)
    assert (result.provider_refund_id, result.status) == ("re_3Q1", "succeeded")
    [sent] = server.requests
    assert (sent.method, str(sent.url)) == ("POST", "https://api.stripe.com/v1/refunds")
    assert sent.headers["Authorization"] == "Bearer sk_test_1"
    assert sent.headers["Idempotency-Key"] == "refund-rfn_1"
    assert form_of(sent) == {
        "payment_intent": "pi_3Q1",
        "amount": "200",
        "metadata[order_id]": "ord_1",
    }


def test_a_refund_of_a_bare_charge_names_the_charge_and_a_pending_one_stays_pending() -> None:
    pending = {**recorded("stripe", "response.refund"), "status": "pending"}
    server = Recorder({("POST", "/v1/refunds"): (200, pending)})
    result = adapter(client=server.client()).refund(
        RefundRequest(
            order_id="ord_1",
            payment_id="ch_3Q1",
            amount=499,
            currency="USD",
            reason="requested",
            idempotency_key="refund-rfn_2",
        )
    )
    assert result.status == "pending"
    form = form_of(server.requests[0])
    assert form["charge"] == "ch_3Q1" and "payment_intent" not in form


def test_an_unreachable_stripe_or_a_missing_key_is_a_provider_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    offline = adapter(client=httpx.Client(transport=httpx.MockTransport(down)))
    with pytest.raises(ProviderError, match="Stripe could not be reached"):
        offline.create_checkout(PAYMENT)
    server = Recorder({})
    keyless = StripeAdapter(api_key=None, webhook_secrets=[SECRET], client=server.client())
    with pytest.raises(ProviderError, match="CREDITFLOW_STRIPE_API_KEY"):
        keyless.refund(REFUND)
    assert server.requests == []


def test_an_error_from_stripe_is_a_provider_error_with_its_message() -> None:
    server = Recorder({("POST", "/v1/refunds"): (400, recorded("stripe", "response.error"))})
    with pytest.raises(ProviderError, match=r"Stripe answered 400: .*already been refunded"):
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
