"""Paddle Billing notifications verified as Paddle documents; adjustments; its API called right."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from creditflow.payments.errors import ProviderError
from creditflow.payments.events import (
    CheckoutRequest,
    EventKind,
    ProviderEvent,
    RefundRequest,
    WebhookRejected,
)
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


def edited(name: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    """A recorded notification changed, then signed afresh: a variant Paddle could send."""
    event = json.loads(payload("paddle", name))
    change(event)
    return json.dumps(event).encode()


def parse_signed(raw: bytes) -> ProviderEvent:
    [event] = adapter().parse_webhook(
        {"Paddle-Signature": paddle_header(raw, SECRET, T)}, raw, now=T
    )
    return event


TXN = "txn_01hv8wptq8987qeep44cyrewp9"
PLAN = CheckoutRequest(
    order_id="ord_1",
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


def refund_of(amount: int) -> RefundRequest:
    return RefundRequest(
        order_id="ord_1",
        payment_id=TXN,
        amount=amount,
        currency="USD",
        reason="goodwill",
        idempotency_key="refund-rfn_1",
    )


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
    assert event.customer_ref == "ctm_01hv6y1jedq4p1n0yqn5ba3ky4" and event.subscription_ref is None
    assert (event.event_id, event.type) == (
        "evt_01hv8x2acma2gz9dnq4mbwe0ma",
        "transaction.completed",
    )
    assert event.occurred_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert event.raw["data"]["origin"] == "web"  # a first payment, not a renewal


def test_a_paid_transaction_is_the_same_payment_reported_earlier() -> None:
    paid = parse("transaction.paid")
    completed = parse("transaction.completed")
    assert (paid.kind, paid.payment_id, paid.amount, paid.order_id) == (
        EventKind.PAYMENT_SUCCEEDED,
        completed.payment_id,
        completed.amount,
        "ord_1",
    )
    assert paid.event_id != completed.event_id


def test_a_recurring_transaction_names_its_subscription_and_a_failure_is_a_failed_payment() -> None:
    renewal = parse("transaction.completed.renewal")
    assert (renewal.subscription_ref, renewal.amount) == ("sub_01hv8y5ehszzq0yv20ttx3166y", 999)
    assert (renewal.order_id, renewal.raw["data"]["origin"]) == ("ord_2", "subscription_recurring")
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
    assert created.refund_id == "adj_01hvgf2s84dr6reszzg29zbvcm" and created.refunded_total is None
    updated = parse("adjustment.updated.refund")
    assert (updated.refund_id, updated.refund_status) == (created.refund_id, "succeeded")

    def rejected(event: dict[str, Any]) -> None:
        event["data"]["status"] = "rejected"

    refused = parse_signed(edited("adjustment.updated.refund", rejected))
    assert (refused.kind, refused.refund_status) == (EventKind.REFUND, "failed")


def test_chargebacks_are_disputes_and_their_reversal_is_won() -> None:
    opened = parse("adjustment.created.chargeback")
    closed = parse("adjustment.created.chargeback_reverse")
    assert (opened.kind, closed.kind) == (EventKind.DISPUTE_OPENED, EventKind.DISPUTE_CLOSED)
    assert opened.dispute_id == closed.dispute_id == f"chargeback:{TXN}"
    assert (opened.dispute_status, closed.dispute_status) == ("open", "won")
    assert (opened.payment_id, opened.amount, closed.payment_id) == (TXN, 499, TXN)
    assert opened.order_id is None  # adjustments carry no custom data: found by the payment


def test_a_chargeback_warning_opens_the_dispute_its_chargeback_continues() -> None:
    def warning(event: dict[str, Any]) -> None:
        event["data"]["action"] = "chargeback_warning"

    warned = parse_signed(edited("adjustment.created.chargeback", warning))
    assert (warned.kind, warned.dispute_id) == (
        EventKind.DISPUTE_OPENED,
        parse("adjustment.created.chargeback").dispute_id,
    )

    def credit(event: dict[str, Any]) -> None:
        event["data"]["action"] = "credit"

    assert parse_signed(edited("adjustment.created.refund", credit)).kind is EventKind.IGNORED


def test_a_cancelled_subscription_and_unknown_types() -> None:
    canceled = parse("subscription.canceled")
    assert (canceled.kind, canceled.subscription_ref, canceled.order_id) == (
        EventKind.SUBSCRIPTION_CANCELED,
        "sub_01hv8y5ehszzq0yv20ttx3166y",
        "ord_2",
    )
    unknown = parse("customer.created")
    assert (unknown.kind, unknown.event_id) == (EventKind.IGNORED, "evt_01hvcustomer0000000000001")


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


def test_a_rejection_names_the_event_from_the_unverified_body_for_the_log() -> None:
    with pytest.raises(WebhookRejected) as rejected:
        parse("transaction.completed", secret="pdl_wrong")
    assert rejected.value.event_id == "evt_01hv8x2acma2gz9dnq4mbwe0ma"


def test_a_stale_timestamp_is_rejected() -> None:
    assert parse("transaction.completed", now=T + 299).order_id == "ord_1"
    assert parse("transaction.completed", now=T - 299).order_id == "ord_1"
    with pytest.raises(WebhookRejected, match="old"):
        parse("transaction.completed", now=T + 301)
    with pytest.raises(WebhookRejected, match="old"):
        parse("transaction.completed", now=T - 301)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "h1=abc",
        "ts=;h1=abc",
        f"ts={T}",
        "ts=abc;h1=00",
        "nonsense",
        f"ts={T};ts={T};h1=00",
        f"ts={T},h1=00",
    ],
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
    with pytest.raises(WebhookRejected):
        adapter(["pdl_new"]).parse_webhook({"PADDLE-SIGNATURE": old}, raw, now=T)


def test_a_checkout_is_a_transaction_with_our_order_in_custom_data() -> None:
    server = Recorder(
        {("POST", "/transactions"): (201, recorded("paddle", "response.transaction"))}
    )
    session = adapter(client=server.client()).create_checkout(PLAN)
    assert session.provider_ref == TXN
    assert session.url == recorded("paddle", "response.transaction")["data"]["checkout"]["url"]
    [sent] = server.requests
    assert (sent.method, str(sent.url)) == ("POST", "https://api.paddle.com/transactions")
    assert sent.headers["Authorization"] == "Bearer pdl_key"
    assert "Idempotency-Key" not in sent.headers  # Paddle has none
    body = json.loads(sent.content)
    assert body["custom_data"] == {"order_id": "ord_1", "account_id": "acc_1"}
    assert body["collection_mode"] == "automatic"
    [item] = body["items"]
    assert item["quantity"] == 1
    price = item["price"]
    assert price["unit_price"] == {"amount": "999", "currency_code": "USD"}
    assert price["billing_cycle"] == {"interval": "month", "frequency": 1}
    assert price["product"] == {"name": "Basic", "tax_category": "standard"}


def test_a_one_time_checkout_has_no_billing_cycle_and_the_sandbox_is_a_setting() -> None:
    server = Recorder(
        {("POST", "/transactions"): (201, recorded("paddle", "response.transaction"))}
    )
    sandbox = adapter(client=server.client(), api_base="https://sandbox-api.paddle.com/")
    sandbox.create_checkout(
        CheckoutRequest(
            order_id="ord_3",
            account_id="acc_1",
            email="a@b.c",
            amount=499,
            currency="usd",
            description="200 credits",
            mode="payment",
            product_ref="pack_200",
            success_url="https://shop.example/thanks",
            cancel_url="https://shop.example/cart",
        )
    )
    [sent] = server.requests
    assert str(sent.url) == "https://sandbox-api.paddle.com/transactions"
    price = json.loads(sent.content)["items"][0]["price"]
    assert "billing_cycle" not in price
    assert price["unit_price"] == {"amount": "499", "currency_code": "USD"}


def test_a_transaction_without_a_checkout_url_is_a_provider_error() -> None:
    answer = recorded("paddle", "response.transaction")
    answer["data"]["checkout"] = {"url": None}
    server = Recorder({("POST", "/transactions"): (201, answer)})
    with pytest.raises(ProviderError, match="default payment link"):
        adapter(client=server.client()).create_checkout(PLAN)


def test_a_partial_refund_is_an_adjustment_of_the_transactions_line() -> None:
    server = Recorder(
        {
            ("GET", "/adjustments"): (200, recorded("paddle", "response.adjustments")),
            ("GET", f"/transactions/{TXN}"): (200, recorded("paddle", "response.transaction")),
            ("POST", "/adjustments"): (201, recorded("paddle", "response.adjustment")),
        }
    )
    result = adapter(client=server.client()).refund(refund_of(200))
    assert (result.provider_refund_id, result.status) == (
        "adj_01hvgf2s84dr6reszzg29zbvcm",
        "pending",
    )
    listed, read, sent = server.requests
    assert listed.url.params["transaction_id"] == TXN
    assert listed.url.params["action"] == "refund"
    assert (read.method, str(read.url)) == ("GET", f"https://api.paddle.com/transactions/{TXN}")
    assert (sent.method, str(sent.url)) == ("POST", "https://api.paddle.com/adjustments")
    assert sent.headers["Authorization"] == "Bearer pdl_key"
    body = json.loads(sent.content)
    assert body == {
        "action": "refund",
        "transaction_id": TXN,
        "reason": "goodwill [refund-rfn_1]",
        "type": "partial",
        "items": [
            {"item_id": "txnitm_01hv8wt98jahpbm1t1tzr06z6n", "type": "partial", "amount": "200"}
        ],
    }


def test_a_refund_of_the_grand_total_is_a_full_adjustment_without_items() -> None:
    server = Recorder(
        {
            ("GET", "/adjustments"): (200, recorded("paddle", "response.adjustments")),
            ("GET", f"/transactions/{TXN}"): (200, recorded("paddle", "response.transaction")),
            ("POST", "/adjustments"): (201, recorded("paddle", "response.adjustment")),
        }
    )
    adapter(client=server.client()).refund(refund_of(499))
    body = json.loads(server.requests[2].content)
    assert (body["type"], body["transaction_id"]) == ("full", TXN)
    assert "items" not in body


def test_a_refund_already_made_under_our_key_is_given_back_not_made_again() -> None:
    """No idempotency header at Paddle: a retry after a lost answer finds its adjustment."""
    listing = recorded("paddle", "response.adjustments")
    listing["data"].append(
        {
            "id": "adj_01hvgf2s84dr6reszzg29zbvcm",
            "action": "refund",
            "transaction_id": TXN,
            "status": "approved",
            "reason": "goodwill [refund-rfn_1]",
        }
    )
    server = Recorder({("GET", "/adjustments"): (200, listing)})
    result = adapter(client=server.client()).refund(refund_of(200))
    assert (result.provider_refund_id, result.status) == (
        "adj_01hvgf2s84dr6reszzg29zbvcm",
        "succeeded",
    )
    assert [r.method for r in server.requests] == ["GET"]  # nothing was posted


def test_a_refused_request_is_final_and_a_server_error_may_pass() -> None:
    refused = Recorder(
        {
            ("GET", "/adjustments"): (200, recorded("paddle", "response.adjustments")),
            ("GET", f"/transactions/{TXN}"): (200, recorded("paddle", "response.transaction")),
            ("POST", "/adjustments"): (400, recorded("paddle", "response.error")),
        }
    )
    with pytest.raises(ProviderError) as final:
        adapter(client=refused.client()).refund(refund_of(200))
    assert final.value.retryable is False
    down = Recorder({("GET", "/adjustments"): (503, {"error": {"code": "unavailable"}})})
    with pytest.raises(ProviderError) as passing:
        adapter(client=down.client()).refund(refund_of(200))
    assert passing.value.retryable is True


def test_an_error_from_paddle_is_a_provider_error_with_its_detail() -> None:
    server = Recorder(
        {
            ("GET", "/adjustments"): (200, recorded("paddle", "response.adjustments")),
            ("GET", f"/transactions/{TXN}"): (200, recorded("paddle", "response.transaction")),
            ("POST", "/adjustments"): (400, recorded("paddle", "response.error")),
        }
    )
    with pytest.raises(
        ProviderError,
        match="Paddle answered 400: The adjustment amount exceeds the total amount left",
    ):
        adapter(client=server.client()).refund(refund_of(200))

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    offline = adapter(client=httpx.Client(transport=httpx.MockTransport(down)))
    with pytest.raises(ProviderError, match="Paddle could not be reached"):
        offline.create_checkout(PLAN)
