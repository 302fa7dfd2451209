"""Stripe: hosted Checkout, refunds, and webhooks verified with Stripe's own SDK.

Signatures (`Stripe-Signature: t=…,v1=…[,v1=…]`) are HMAC-SHA256 of `"{t}.{raw body}"` with the
endpoint's secret, checked by `stripe.WebhookSignature` (it works offline); the timestamp is
checked here against the wall clock handed in, so tests can be exact about staleness. Our order
id rides in `metadata` of the session, its payment intent and its subscription, which is how a
later `charge.refunded` or `invoice.paid` finds the order again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from stripe import SignatureVerificationError, WebhookSignature

from creditflow.payments.base import HttpAdapter
from creditflow.payments.errors import ProviderError, retryable_status
from creditflow.payments.events import (
    CheckoutRequest,
    CheckoutSession,
    EventKind,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    WebhookRejected,
)

API = "https://api.stripe.com"
REFUND_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}


class StripeAdapter(HttpAdapter):
    name = "stripe"
    default_api = API

    # Webhooks

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> list[ProviderEvent]:
        header = {k.lower(): v for k, v in headers.items()}.get("stripe-signature")
        event_id = _peek_id(body)
        if not header:
            raise WebhookRejected("The Stripe-Signature header is missing.", event_id=event_id)
        timestamp = _timestamp(header)
        if timestamp is None:
            raise WebhookRejected("The Stripe-Signature header is malformed.", event_id=event_id)
        if not any(_verifies(body, header, secret) for secret in self._secrets):
            raise WebhookRejected(
                "The Stripe signature does not match the body with any configured secret.",
                event_id=event_id,
            )
        if abs(now - timestamp) > self._tolerance:
            raise WebhookRejected(
                f"The Stripe signature is {int(abs(now - timestamp))} s old; at most "
                f"{self._tolerance} s is accepted.",
                event_id=event_id,
            )
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("The body is not JSON.", event_id=event_id) from None
        if not isinstance(event, dict):
            raise WebhookRejected("The body is not a Stripe event.", event_id=event_id)
        return [read_event(event)]

    # Outgoing calls

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        data = _checkout_form(request)
        response = self._post(
            "/v1/checkout/sessions", data, idempotency_key=f"checkout-{request.order_id}"
        )
        if not response.get("url"):
            raise ProviderError(
                f"Stripe created checkout {response['id']} without a URL.", retryable=False
            )
        return CheckoutSession(url=str(response["url"]), provider_ref=str(response["id"]))

    def refund(self, request: RefundRequest) -> RefundResult:
        target = "payment_intent" if request.payment_id.startswith("pi_") else "charge"
        data = [
            (target, request.payment_id),
            ("amount", str(request.amount)),
            ("metadata[order_id]", request.order_id),
        ]
        response = self._post("/v1/refunds", data, idempotency_key=request.idempotency_key)
        return RefundResult(
            provider_refund_id=str(response["id"]),
            status=REFUND_STATUS.get(str(response.get("status")), "pending"),
        )

    def _post(
        self, path: str, data: list[tuple[str, str]], *, idempotency_key: str
    ) -> dict[str, Any]:
        if not self._api_key:
            raise ProviderError("Stripe: no API key is configured (CREDITFLOW_STRIPE_API_KEY).")
        # httpx form-encodes a mapping (a list of pairs would be sent as raw content); every
        # bracketed key here is distinct, so the mapping loses nothing.
        form = dict(data)
        if len(form) != len(data):
            raise ValueError(f"Stripe form parameters repeat a key: {[k for k, _ in data]}")
        try:
            response = self._client.post(
                f"{self._base}{path}",
                data=form,
                headers={
                    "Authorization": f"Bearer {self._api_key}",
                    "Idempotency-Key": idempotency_key,
                },
            )
        except httpx.HTTPError as error:
            raise ProviderError(f"Stripe could not be reached: {error}.") from error
        if response.status_code >= 400:
            message = _error_message(response)
            raise ProviderError(
                f"Stripe answered {response.status_code}: {message}",
                retryable=retryable_status(response.status_code),
            )
        try:
            result = response.json()
        except ValueError:
            raise ProviderError(
                f"Stripe answered {response.status_code} with a body that is not JSON."
            ) from None
        if not isinstance(result, dict) or "id" not in result:
            raise ProviderError(f"Stripe answered {response.status_code} without an object id.")
        return result


def read_event(event: Mapping[str, Any]) -> ProviderEvent:
    """A verified Stripe event in our shape; types we do not map come back IGNORED."""
    kind_of = {
        "checkout.session.completed": _checkout_completed,
        "checkout.session.async_payment_succeeded": _checkout_async,
        "checkout.session.async_payment_failed": _checkout_async,
        "invoice.paid": _invoice,
        "invoice.payment_succeeded": _invoice,
        "invoice.payment_failed": _invoice,
        "charge.refunded": _charge_refunded,
        "refund.created": _refund,
        "refund.updated": _refund,
        "charge.dispute.created": _dispute,
        "charge.dispute.closed": _dispute,
        "customer.subscription.deleted": _subscription_deleted,
    }
    obj = _mapping(_mapping(event.get("data")).get("object"))
    base: dict[str, Any] = {
        "provider": "stripe",
        "event_id": str(event.get("id")),
        "type": str(event.get("type")),
        "occurred_at": _time(event.get("created")),
        "raw": dict(event),
    }
    read = kind_of.get(base["type"])
    if read is None:
        return ProviderEvent(kind=EventKind.IGNORED, **base)
    fields = read(base["type"], obj)
    # Only charges carry a card fingerprint; elsewhere the customer links accounts paying alike.
    fields.setdefault("fingerprint", fields.get("customer_ref"))
    return ProviderEvent(**base, **fields)


def _checkout_completed(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    # `unpaid` (a delayed method: async_payment_succeeded follows) and `no_payment_required`
    # take no money, so neither is a payment.
    paid = obj.get("payment_status") == "paid"
    subscription = obj.get("subscription")
    return {
        "kind": EventKind.PAYMENT_SUCCEEDED if paid else EventKind.IGNORED,
        "order_id": _meta(obj).get("order_id") or obj.get("client_reference_id"),
        # In subscription mode the first invoice is the payment `invoice.paid` reports too.
        "payment_id": obj.get("invoice") if subscription else obj.get("payment_intent"),
        "subscription_ref": subscription,
        "customer_ref": obj.get("customer"),
        "amount": obj.get("amount_total"),
        "currency": _currency(obj),
        "checkout_ref": obj.get("id"),
    }


def _checkout_async(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A delayed method (a bank debit) settled after the session completed `unpaid`."""
    failed = kind == "checkout.session.async_payment_failed"
    kind_now = EventKind.PAYMENT_FAILED if failed else EventKind.PAYMENT_SUCCEEDED
    return {**_checkout_completed(kind, obj), "kind": kind_now}


def _invoice(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A subscription's invoice: its renewal (or first) payment, or a declined one.

    API versions from 2025-03-31 moved `subscription` and `subscription_details` under
    `parent`; older ones keep them on the invoice, so both are read. The order id is the one
    put into `subscription_data.metadata` at checkout; a line of the subscription carries it
    too, which is the last place to look.
    """
    parent = obj.get("parent")
    details = _mapping(parent.get("subscription_details")) if isinstance(parent, Mapping) else {}
    legacy = _mapping(obj.get("subscription_details"))
    lines = _mapping(obj.get("lines")).get("data") or []
    line_meta: dict[str, Any] = {}
    line_subscription = None
    for line in reversed(lines if isinstance(lines, list) else []):
        line = _mapping(line)
        line_meta.update(_meta(line))
        line_parent = _mapping(line.get("parent"))
        item_details = _mapping(line_parent.get("subscription_item_details"))
        line_subscription = (
            item_details.get("subscription") or line.get("subscription") or line_subscription
        )
    metadata = {
        **line_meta,
        **_mapping(legacy.get("metadata")),
        **_mapping(details.get("metadata")),
    }
    failed = kind == "invoice.payment_failed"
    return {
        "kind": EventKind.PAYMENT_FAILED if failed else EventKind.PAYMENT_SUCCEEDED,
        "order_id": metadata.get("order_id"),
        "payment_id": obj.get("id"),
        "subscription_ref": (
            obj.get("subscription") or details.get("subscription") or line_subscription
        ),
        "customer_ref": obj.get("customer"),
        "amount": obj.get("amount_due") if failed else obj.get("amount_paid"),
        "currency": _currency(obj),
    }


def _charge_refunded(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": EventKind.REFUND,
        "order_id": _meta(obj).get("order_id"),
        "payment_id": obj.get("payment_intent") or obj.get("id"),
        "customer_ref": obj.get("customer"),
        "refunded_total": obj.get("amount_refunded"),
        "currency": _currency(obj),
        "fingerprint": _fingerprint(obj),
    }


def _refund(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": EventKind.REFUND,
        "order_id": _meta(obj).get("order_id"),
        "payment_id": obj.get("payment_intent") or obj.get("charge"),
        "refund_id": obj.get("id"),
        "amount": obj.get("amount"),
        "currency": _currency(obj),
        "refund_status": REFUND_STATUS.get(str(obj.get("status")), "pending"),
    }


def _dispute(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    closed = kind == "charge.dispute.closed"
    won = obj.get("status") in ("won", "warning_closed")
    return {
        "kind": EventKind.DISPUTE_CLOSED if closed else EventKind.DISPUTE_OPENED,
        "order_id": _meta(obj).get("order_id"),
        "payment_id": obj.get("payment_intent") or obj.get("charge"),
        "dispute_id": obj.get("id"),
        "dispute_status": ("won" if won else "lost") if closed else "open",
        "amount": obj.get("amount"),
        "currency": _currency(obj),
    }


def _subscription_deleted(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": EventKind.SUBSCRIPTION_CANCELED,
        "order_id": _meta(obj).get("order_id"),
        "subscription_ref": obj.get("id"),
        "customer_ref": obj.get("customer"),
    }


def _checkout_form(request: CheckoutRequest) -> list[tuple[str, str]]:
    """Stripe's bracket notation for nested parameters, as its API takes them."""
    price = "line_items[0][price_data]"
    form = [
        ("mode", request.mode),
        ("success_url", request.success_url),
        ("cancel_url", request.cancel_url),
        ("client_reference_id", request.order_id),
        ("customer_email", request.email),
        ("metadata[order_id]", request.order_id),
        ("metadata[account_id]", request.account_id),
        ("line_items[0][quantity]", "1"),
        (f"{price}[currency]", request.currency.lower()),
        (f"{price}[unit_amount]", str(request.amount)),
        (f"{price}[product_data][name]", request.description[:250] or request.product_ref),
    ]
    if request.mode == "subscription":
        form += [
            (f"{price}[recurring][interval]", request.interval or "month"),
            ("subscription_data[metadata][order_id]", request.order_id),
            ("subscription_data[metadata][account_id]", request.account_id),
        ]
    else:
        form += [
            ("payment_intent_data[metadata][order_id]", request.order_id),
            ("payment_intent_data[metadata][account_id]", request.account_id),
        ]
    return form


def _verifies(body: bytes, header: str, secret: str) -> bool:
    try:
        WebhookSignature.verify_header(body, header, secret, tolerance=None)
    except SignatureVerificationError:
        return False
    except (ValueError, IndexError, UnicodeDecodeError):
        return False
    return True


def _timestamp(header: str) -> int | None:
    """The one signed `t`, or None when there is not exactly one.

    The SDK verifies against the first `t`; were a second allowed, a fresh one appended to a
    captured header would pass the age check while the old signature still verified.
    """
    pairs = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in pairs if key == "t"]
    if len(stamps) != 1 or not any(key == "v1" for key, _, _ in pairs):
        return None
    stamp = stamps[0]
    return int(stamp) if stamp.isascii() and stamp.isdigit() else None


def _peek_id(body: bytes) -> str | None:
    try:
        found = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None
    return str(found) if found else None


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(obj.get("metadata"))


def _mapping(value: object) -> Mapping[str, Any]:
    """A nested object, or {} where Stripe sends null or an unexpanded id."""
    return value if isinstance(value, Mapping) else {}


def _currency(obj: Mapping[str, Any]) -> str | None:
    currency = obj.get("currency")
    return str(currency).upper() if currency else None


def _fingerprint(obj: Mapping[str, Any]) -> str | None:
    card = _mapping(_mapping(obj.get("payment_method_details")).get("card"))
    return card.get("fingerprint") or obj.get("customer")


def _time(value: object) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _error_message(response: httpx.Response) -> str:
    try:
        error = _mapping(_mapping(response.json()).get("error"))
    except ValueError:
        error = {}
    return str(error.get("message") or response.text[:200])
