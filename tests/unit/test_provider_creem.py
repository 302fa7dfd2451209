"""Creem webhooks: an HMAC of the body alone, so deduplication is the only replay guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from creditflow.payments.creem import CreemAdapter
from creditflow.payments.errors import ProviderError
from creditflow.payments.events import (
    CheckoutRequest,
    EventKind,
    ProviderEvent,
    RefundRequest,
    WebhookRejected,
)
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


def edited(name: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    """A recorded event changed, then signed afresh: a variant Creem could send."""
    event = json.loads(payload("creem", name))
    change(event)
    return json.dumps(event).encode()


def parse_signed(raw: bytes) -> ProviderEvent:
    [event] = adapter().parse_webhook({"creem-signature": creem_header(raw, SECRET)}, raw, now=0)
    return event


PACK = CheckoutRequest(
    order_id="ord_1",
    account_id="acc_1",
    email="a@b.c",
    amount=1000,
    currency="USD",
    description="200 credits",
    mode="payment",
    product_ref="pack_200",
    success_url="https://shop.example/thanks",
    cancel_url="https://shop.example/cart",
)
PRODUCTS = {"pack_200": "prod_d1AY2Sadk9YAvLI0pj97f"}


def test_a_one_time_checkout_is_a_payment_of_our_order() -> None:
    event = parse("checkout.completed")
    assert (event.kind, event.order_id, event.payment_id, event.amount) == (
        EventKind.PAYMENT_SUCCEEDED,
        "ord_1",
        "ord_4aDwWXjMLpes4Kj4XqNnUA",
        1000,
    )
    assert event.customer_ref == "cust_1OTxHnPbz9ZrFU5UVnRYLv"
    assert (event.currency, event.checkout_ref, event.fingerprint) == (
        "USD",
        "ch_4l0N34kxo16AhRKUHFUuXr",
        "cust_1OTxHnPbz9ZrFU5UVnRYLv",
    )
    assert event.occurred_at == datetime.fromtimestamp(1_795_000_000, UTC)  # from milliseconds
    assert (event.provider, event.event_id) == ("creem", "evt_5WHHcZPv7VS0YUsberIuOz")


def test_without_metadata_the_request_id_names_our_order() -> None:
    def no_metadata(event: dict[str, Any]) -> None:
        del event["object"]["metadata"]

    assert parse_signed(edited("checkout.completed", no_metadata)).order_id == "ord_1"


def test_a_subscription_is_paid_by_subscription_paid_not_by_active_or_its_checkout() -> None:
    checkout = parse("checkout.completed.subscription")
    assert (checkout.kind, checkout.subscription_ref, checkout.order_id) == (
        EventKind.IGNORED,
        "sub_6pC2lNB6joCRQIZ1aMrTpi",
        "ord_2",
    )
    assert parse("subscription.active").kind is EventKind.IGNORED

    def recurring_without_subscription(event: dict[str, Any]) -> None:
        del event["object"]["subscription"]

    unlinked = parse_signed(
        edited("checkout.completed.subscription", recurring_without_subscription)
    )
    assert unlinked.kind is EventKind.IGNORED  # a recurring order is never a one-time payment
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
    assert (dispute.dispute_id, dispute.amount, dispute.currency, dispute.dispute_status) == (
        "disp_6vSsOdTANP5PhOzuDlUuXE",
        1000,
        "USD",
        "open",
    )
    assert (refund.refund_status, refund.currency) == ("succeeded", "USD")
    for name in ("subscription.canceled", "subscription.expired"):
        ended = parse(name)
        assert (ended.kind, ended.subscription_ref, ended.order_id) == (
            EventKind.SUBSCRIPTION_CANCELED,
            "sub_6pC2lNB6joCRQIZ1aMrTpi",
            "ord_2",
        )


def test_a_refund_finds_our_order_on_the_checkout_it_carries() -> None:
    def with_checkout(event: dict[str, Any]) -> None:
        event["object"]["checkout"] = {"id": "ch_1", "request_id": "ord_1", "metadata": {}}

    assert parse("refund.created").order_id is None  # found by the payment instead
    assert parse_signed(edited("refund.created", with_checkout)).order_id == "ord_1"


def test_unknown_event_types_are_verified_and_ignored() -> None:
    def unknown(event: dict[str, Any]) -> None:
        event["eventType"] = "subscription.update"

    event = parse_signed(edited("subscription.active", unknown))
    assert (event.kind, event.type, event.event_id) == (
        EventKind.IGNORED,
        "subscription.update",
        "evt_active00000000000000001",
    )


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
    with pytest.raises(WebhookRejected) as rejected:
        parse("checkout.completed", **change)  # type: ignore[arg-type]
    assert rejected.value.event_id in ("evt_5WHHcZPv7VS0YUsberIuOz", None)


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
    with pytest.raises(WebhookRejected):
        adapter(["whsec_new"]).parse_webhook(
            {"creem-signature": creem_header(raw, "whsec_old")}, raw, now=0
        )


def test_a_checkout_needs_a_mapped_product_and_carries_our_order() -> None:
    server = Recorder({("POST", "/v1/checkouts"): (200, recorded("creem", "response.checkout"))})
    creem = adapter(client=server.client(), products=PRODUCTS)
    session = creem.create_checkout(PACK)
    assert session.url == recorded("creem", "response.checkout")["checkout_url"]
    assert session.provider_ref == "ch_4l0N34kxo16AhRKUHFUuXr"
    [sent] = server.requests
    assert (sent.method, str(sent.url)) == ("POST", "https://api.creem.io/v1/checkouts")
    assert sent.headers["x-api-key"] == "creem_test_key"
    assert "Authorization" not in sent.headers
    assert json.loads(sent.content) == {
        "product_id": "prod_d1AY2Sadk9YAvLI0pj97f",
        "request_id": "ord_1",
        "customer": {"email": "a@b.c"},
        "metadata": {"order_id": "ord_1", "account_id": "acc_1"},
        "success_url": "https://shop.example/thanks",
    }
    with pytest.raises(ProviderError, match="CREDITFLOW_CREEM_PRODUCTS"):
        creem.create_checkout(replace(PACK, product_ref="other"))
    assert len(server.requests) == 1


def test_test_mode_is_a_setting_and_errors_are_provider_errors() -> None:
    server = Recorder({("POST", "/v1/checkouts"): (400, recorded("creem", "response.error"))})
    test_mode = adapter(
        client=server.client(), products=PRODUCTS, api_base="https://test-api.creem.io"
    )
    with pytest.raises(ProviderError, match="Creem answered 400"):
        test_mode.create_checkout(PACK)
    assert str(server.requests[0].url) == "https://test-api.creem.io/v1/checkouts"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    offline = adapter(client=httpx.Client(transport=httpx.MockTransport(down)), products=PRODUCTS)
    with pytest.raises(ProviderError, match="Creem could not be reached"):
        offline.create_checkout(PACK)
    keyless = CreemAdapter(api_key=None, webhook_secrets=[SECRET], products=PRODUCTS)
    with pytest.raises(ProviderError, match="CREDITFLOW_CREEM_API_KEY"):
        keyless.create_checkout(PACK)


def test_refunds_are_made_in_creems_dashboard_without_a_call() -> None:
    server = Recorder({})
    with pytest.raises(ProviderError, match="dashboard"):
        adapter(client=server.client()).refund(
            RefundRequest(
                order_id="o",
                payment_id="p",
                amount=1,
                currency="USD",
                reason="r",
                idempotency_key="k",
            )
        )
    assert server.requests == []
