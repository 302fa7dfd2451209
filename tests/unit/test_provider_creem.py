"""Creem webhooks: an HMAC of the body alone, so deduplication is the only replay guard."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from creditflow.payments.creem import CreemAdapter
from creditflow.payments.errors import ProviderError
from creditflow.payments.events import CheckoutRequest, EventKind, RefundRequest, WebhookRejected
from tests.providers import (
    Recorder,
    creem_header,
    one_byte_changed,
    payload,
    recorded,
    reserialized,
)

SECRET = "whsec_creem_current"


def adapter(secrets: list[str] | None = None, **kwargs: object) -> CreemAdapter:
    return CreemAdapter(api_key="creem_test_key", webhook_secrets=secrets or [SECRET], **kwargs)  # type: ignore[arg-type]


def parse(name: str, *, secret: str = SECRET, body: bytes | None = None, now: float = 0):  # type: ignore[no-untyped-def]
    raw = payload("creem", name)
    [event] = adapter().parse_webhook(
        {"creem-signature": creem_header(raw, secret)}, raw if body is None else body, now=now
    )
    return event


def test_a_one_time_checkout_is_a_payment_of_our_order() -> None:
    event = parse("checkout.completed")
    assert (event.kind, event.order_id, event.payment_id, event.amount) == (
        EventKind.PAYMENT_SUCCEEDED,
        "ord_1",
        "ord_4aDwWXjMLpes4Kj4XqNnUA",
        1000,
    )
    assert event.customer_ref == "cust_1OTxHnPbz9ZrFU5UVnRYLv"


def test_a_subscription_is_paid_by_subscription_paid_not_by_active_or_its_checkout() -> None:
    checkout = parse("checkout.completed.subscription")
    assert (checkout.kind, checkout.subscription_ref, checkout.order_id) == (
        EventKind.IGNORED,
        "sub_6pC2lNB6joCRQIZ1aMrTpi",
        "ord_2",
    )
    assert parse("subscription.active").kind is EventKind.IGNORED
    paid = parse("subscription.paid")
    assert (paid.kind, paid.payment_id, paid.subscription_ref, paid.amount) == (
        EventKind.PAYMENT_SUCCEEDED,
        "tran_3SBG8fgzBvyh8Zs1nqHdG2",
        "sub_6pC2lNB6joCRQIZ1aMrTpi",
        1500,
    )


def test_refunds_disputes_and_cancellations() -> None:
    refund = parse("refund.created")
    assert (refund.kind, refund.refund_id, refund.amount, refund.payment_id) == (
        EventKind.REFUND,
        "ref_3zBjBO1vdj2JpCtnfXCuzY",
        1000,
        "ord_4aDwWXjMLpes4Kj4XqNnUA",
    )
    dispute = parse("dispute.created")
    assert (dispute.kind, dispute.payment_id) == (
        EventKind.DISPUTE_OPENED,
        "ord_4aDwWXjMLpes4Kj4XqNnUA",
    )
    assert parse("subscription.canceled").kind is EventKind.SUBSCRIPTION_CANCELED


@pytest.mark.parametrize(
    "change",
    [
        {"secret": "whsec_wrong"},
        {"body": one_byte_changed(payload("creem", "checkout.completed"))},
        {"body": reserialized(payload("creem", "checkout.completed"))},
    ],
    ids=["wrong secret", "one byte changed", "re-serialized JSON"],
)
def test_a_signature_that_does_not_match_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(WebhookRejected):
        parse("checkout.completed", **change)  # type: ignore[arg-type]


def test_no_timestamp_is_signed_so_age_is_not_checked() -> None:
    assert parse("checkout.completed", now=10**10).order_id == "ord_1"


@pytest.mark.parametrize("headers", [{}, {"creem-signature": ""}, {"creem-signature": "zz"}])
def test_a_missing_or_malformed_header_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected):
        adapter().parse_webhook(headers, payload("creem", "checkout.completed"), now=0)


def test_a_rotated_secret_verifies() -> None:
    raw = payload("creem", "refund.created")
    rotating = adapter(["whsec_new", "whsec_old"])
    assert rotating.parse_webhook({"Creem-Signature": creem_header(raw, "whsec_old")}, raw, now=0)


def test_a_checkout_needs_a_mapped_product_and_carries_our_order() -> None:
    server = Recorder({("POST", "/v1/checkouts"): (200, recorded("creem", "response.checkout"))})
    creem = adapter(client=server.client(), products={"pack_200": "prod_d1AY2Sadk9YAvLI0pj97f"})
    request = CheckoutRequest(
        order_id="ord_1",
        account_id="acc_1",
        email="a@b.c",
        amount=1000,
        currency="USD",
        description="200 credits",
        mode="payment",
        product_ref="pack_200",
    )
    session = creem.create_checkout(request)
    assert session.url.startswith("https://www.creem.io/")
    [sent] = server.requests
    assert sent.headers["x-api-key"] == "creem_test_key"
    body = json.loads(sent.content)
    assert (body["product_id"], body["request_id"], body["metadata"]["order_id"]) == (
        "prod_d1AY2Sadk9YAvLI0pj97f",
        "ord_1",
        "ord_1",
    )
    with pytest.raises(ProviderError, match="CREDITFLOW_CREEM_PRODUCTS"):
        creem.create_checkout(replace(request, product_ref="other"))


def test_refunds_are_made_in_creems_dashboard() -> None:
    with pytest.raises(ProviderError, match="dashboard"):
        adapter().refund(
            RefundRequest(
                order_id="o",
                payment_id="p",
                amount=1,
                currency="USD",
                reason="r",
                idempotency_key="k",
            )
        )
