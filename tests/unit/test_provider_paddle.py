"""Paddle Billing notifications verified as Paddle documents; adjustments; its API called right."""

from __future__ import annotations

import json

import pytest

from creditflow.payments.events import CheckoutRequest, EventKind, RefundRequest, WebhookRejected
from creditflow.payments.paddle import PaddleAdapter
from tests.providers import (
    Recorder,
    one_byte_changed,
    paddle_header,
    payload,
    recorded,
    reserialized,
)

SECRET = "pdl_ntfset_current"
T = 1_795_000_000


def adapter(secrets: list[str] | None = None, **kwargs: object) -> PaddleAdapter:
    return PaddleAdapter(api_key="pdl_key", webhook_secrets=secrets or [SECRET], **kwargs)  # type: ignore[arg-type]


def parse(name: str, *, secret: str = SECRET, now: float = T, body: bytes | None = None):  # type: ignore[no-untyped-def]
    raw = payload("paddle", name)
    header = paddle_header(raw, secret, T)
    [event] = adapter().parse_webhook(
        {"Paddle-Signature": header}, raw if body is None else body, now=now
    )
    return event


def test_a_completed_transaction_is_a_payment_of_our_order() -> None:
    event = parse("transaction.completed")
    assert (event.kind, event.order_id, event.amount, event.currency) == (
        EventKind.PAYMENT_SUCCEEDED,
        "ord_1",
        499,
        "USD",
    )
    assert event.payment_id == "txn_01hv8wptq8987qeep44cyrewp9"
    assert event.fingerprint == "ctm_01hv6y1jedq4p1n0yqn5ba3ky4"  # no card fingerprint: customer


def test_a_recurring_transaction_names_its_subscription_and_a_failure_is_a_failed_payment() -> None:
    renewal = parse("transaction.completed.renewal")
    assert (renewal.subscription_ref, renewal.amount) == ("sub_01hv8y5ehszzq0yv20ttx3166y", 999)
    failed = parse("transaction.payment_failed")
    assert (failed.kind, failed.subscription_ref) == (
        EventKind.PAYMENT_FAILED,
        "sub_01hv8y5ehszzq0yv20ttx3166y",
    )


def test_a_refund_adjustment_starts_pending_and_counts_when_approved() -> None:
    created = parse("adjustment.created.refund")
    assert (created.kind, created.refund_status, created.amount) == (
        EventKind.REFUND,
        "pending",
        200,
    )
    assert created.payment_id == "txn_01hv8wptq8987qeep44cyrewp9" and created.order_id is None
    updated = parse("adjustment.updated.refund")
    assert (updated.refund_id, updated.refund_status) == (created.refund_id, "succeeded")


def test_chargebacks_are_disputes_and_their_reversal_is_won() -> None:
    opened = parse("adjustment.created.chargeback")
    closed = parse("adjustment.created.chargeback_reverse")
    assert (opened.kind, closed.kind) == (EventKind.DISPUTE_OPENED, EventKind.DISPUTE_CLOSED)
    assert opened.dispute_id == closed.dispute_id and closed.dispute_status == "won"


def test_a_cancelled_subscription_and_unknown_types() -> None:
    assert parse("subscription.canceled").kind is EventKind.SUBSCRIPTION_CANCELED
    assert parse("customer.created").kind is EventKind.IGNORED


@pytest.mark.parametrize(
    "change",
    [
        {"secret": "pdl_wrong"},
        {"body": one_byte_changed(payload("paddle", "transaction.completed"))},
        {"body": reserialized(payload("paddle", "transaction.completed"))},
    ],
    ids=["wrong secret", "one byte changed", "re-serialized JSON"],
)
def test_a_signature_that_does_not_match_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(WebhookRejected):
        parse("transaction.completed", **change)  # type: ignore[arg-type]


def test_a_stale_timestamp_is_rejected() -> None:
    assert parse("transaction.completed", now=T + 299).order_id == "ord_1"
    with pytest.raises(WebhookRejected, match="old"):
        parse("transaction.completed", now=T + 301)


@pytest.mark.parametrize(
    "header", [None, "", "h1=abc", "ts=;h1=abc", f"ts={T}", "ts=abc;h1=00", "nonsense"]
)
def test_a_missing_or_malformed_header_is_rejected(header: str | None) -> None:
    headers = {} if header is None else {"Paddle-Signature": header}
    with pytest.raises(WebhookRejected):
        adapter().parse_webhook(headers, payload("paddle", "transaction.completed"), now=T)


def test_a_rotated_secret_and_two_signatures_in_one_header_verify() -> None:
    raw = payload("paddle", "transaction.completed")
    rotating = adapter(["pdl_new", "pdl_old"])
    old = paddle_header(raw, "pdl_old", T)
    assert rotating.parse_webhook({"paddle-signature": old}, raw, now=T)
    other = paddle_header(raw, "pdl_other", T).split(";")[1]
    assert adapter(["pdl_new"]).parse_webhook(
        {"Paddle-Signature": f"{paddle_header(raw, 'pdl_new', T)};{other}"}, raw, now=T
    )


def test_a_checkout_is_a_transaction_with_our_order_in_custom_data() -> None:
    server = Recorder(
        {("POST", "/transactions"): (201, recorded("paddle", "response.transaction"))}
    )
    session = adapter(client=server.client()).create_checkout(
        CheckoutRequest(
            order_id="ord_1",
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
    assert session.provider_ref == "txn_01hv8wptq8987qeep44cyrewp9"
    assert "_ptxn=" in session.url
    [sent] = server.requests
    body = json.loads(sent.content)
    assert sent.headers["Authorization"] == "Bearer pdl_key"
    assert body["custom_data"]["order_id"] == "ord_1"
    price = body["items"][0]["price"]
    assert price["unit_price"] == {"amount": "999", "currency_code": "USD"}
    assert price["billing_cycle"] == {"interval": "month", "frequency": 1}


def test_a_partial_refund_is_an_adjustment_of_the_transactions_line() -> None:
    server = Recorder(
        {
            ("GET", "/transactions/txn_01hv8wptq8987qeep44cyrewp9"): (
                200,
                recorded("paddle", "response.transaction"),
            ),
            ("POST", "/adjustments"): (201, recorded("paddle", "response.adjustment")),
        }
    )
    result = adapter(client=server.client()).refund(
        RefundRequest(
            order_id="ord_1",
            payment_id="txn_01hv8wptq8987qeep44cyrewp9",
            amount=200,
            currency="USD",
            reason="goodwill",
            idempotency_key="refund-rfn_1",
        )
    )
    assert (result.provider_refund_id, result.status) == (
        "adj_01hvgf2s84dr6reszzg29zbvcm",
        "pending",
    )
    body = json.loads(server.requests[1].content)
    assert (body["action"], body["type"]) == ("refund", "partial")
    assert body["items"] == [
        {"item_id": "txnitm_01hv8wt98jahpbm1t1tzr06z6n", "type": "partial", "amount": "200"}
    ]
