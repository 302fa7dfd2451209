"""Creem: hosted checkouts and signed webhooks.

`creem-signature` is the HMAC-SHA256 of the raw body with the webhook secret, and nothing else:
no timestamp is signed, so a captured delivery could be replayed, and deduplication by event id
(done when the event is stored) is the only replay guard. Creem grants access on
`subscription.paid`, not on `subscription.active`, which only says the subscription exists.

A subscription's `checkout.completed` is not its payment (`subscription.paid` reports that, with
the transaction id); it comes back IGNORED but carrying the subscription id and our order id,
so the service can link the two before the first `subscription.paid` arrives.

Refunds are made in Creem's dashboard and reported here by `refund.created`. Creem does document
`POST /v1/refunds`, but it refunds the whole remaining amount of a transaction (`tran_…`) and
takes no amount: a partial refund asked of it would go back in full, and a one-time payment is
known here by its order id (`ord_…`), not its transaction id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

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

API = "https://api.creem.io"


class CreemAdapter(HttpAdapter):
    name = "creem"
    default_api = API

    def __init__(
        self,
        *,
        api_key: str | None,
        webhook_secrets: Sequence[str],
        tolerance_seconds: int = 300,
        client: httpx.Client | None = None,
        api_base: str | None = None,
        products: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            webhook_secrets=webhook_secrets,
            tolerance_seconds=tolerance_seconds,
            client=client,
            api_base=api_base,
        )
        self._products = dict(products or {})
        """Our product codes to Creem product ids, made in Creem's dashboard."""

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> list[ProviderEvent]:
        signature = {k.lower(): v for k, v in headers.items()}.get("creem-signature", "").strip()
        event_id = _peek_id(body)
        if not signature:
            raise WebhookRejected("The creem-signature header is missing.", event_id=event_id)
        expected = [hmac.new(k.encode(), body, hashlib.sha256).hexdigest() for k in self._secrets]
        if not any(hmac.compare_digest(e, signature.lower()) for e in expected):
            raise WebhookRejected(
                "The Creem signature does not match the body with any configured secret.",
                event_id=event_id,
            )
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("The body is not JSON.", event_id=event_id) from None
        if not isinstance(event, dict):
            raise WebhookRejected("The body is not a Creem event.", event_id=event_id)
        return [read_event(event)]

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        product = self._products.get(request.product_ref)
        if product is None:
            raise ProviderError(
                f"Creem: no Creem product is mapped to {request.product_ref!r}; add it to "
                "CREDITFLOW_CREEM_PRODUCTS as code=prod_…"
            )
        if not self._api_key:
            raise ProviderError("Creem: no API key is configured (CREDITFLOW_CREEM_API_KEY).")
        body = {
            "product_id": product,
            "request_id": request.order_id,
            "customer": {"email": request.email},
            "metadata": {"order_id": request.order_id, "account_id": request.account_id},
            "success_url": request.success_url,
        }
        try:
            response = self._client.post(
                f"{self._base}/v1/checkouts", json=body, headers={"x-api-key": self._api_key}
            )
        except httpx.HTTPError as error:
            raise ProviderError(f"Creem could not be reached: {error}.") from error
        if response.status_code >= 400:
            raise ProviderError(
                f"Creem answered {response.status_code}: {response.text[:200]}",
                retryable=retryable_status(response.status_code),
            )
        try:
            data = _mapping(response.json())
        except ValueError:
            data = {}
        if not data.get("id") or not data.get("checkout_url"):
            raise ProviderError(
                f"Creem answered {response.status_code} without a checkout id and URL."
            )
        return CheckoutSession(url=str(data["checkout_url"]), provider_ref=str(data["id"]))

    def refund(self, request: RefundRequest) -> RefundResult:
        """Always refused: see the module's note on why refunds go through the dashboard."""
        raise ProviderError(
            "Creem refunds are made in the Creem dashboard; its refund.created webhook then "
            f"records them here (order {request.order_id}, payment {request.payment_id}).",
            retryable=False,
        )


def read_event(event: Mapping[str, Any]) -> ProviderEvent:
    kind = str(event.get("eventType"))
    obj = _mapping(event.get("object"))
    customer = obj.get("customer")
    customer_ref = _ref(customer)
    base: dict[str, Any] = {
        "provider": "creem",
        "event_id": str(event.get("id")),
        "type": kind,
        "occurred_at": _time(event.get("created_at")),
        "customer_ref": customer_ref,
        "fingerprint": customer_ref,
        "raw": dict(event),
    }
    order_id = _order_id(obj)
    if kind == "checkout.completed":
        order = _mapping(obj.get("order"))
        subscription_ref = _ref(obj.get("subscription"))
        if subscription_ref or order.get("type") == "recurring":
            # A subscription's money is reported by subscription.paid; this only links its id.
            return ProviderEvent(
                **base,
                kind=EventKind.IGNORED,
                order_id=order_id,
                subscription_ref=subscription_ref,
                checkout_ref=obj.get("id"),
            )
        return ProviderEvent(
            **base,
            kind=EventKind.PAYMENT_SUCCEEDED,
            order_id=order_id,
            payment_id=order.get("id"),
            amount=_int(order.get("amount")),
            currency=order.get("currency"),
            checkout_ref=obj.get("id"),
        )
    if kind == "subscription.paid":
        product = _mapping(obj.get("product"))
        last = _mapping(obj.get("last_transaction"))
        return ProviderEvent(
            **base,
            kind=EventKind.PAYMENT_SUCCEEDED,
            order_id=order_id,
            subscription_ref=obj.get("id"),
            # Without a transaction id the event's own id still names this one payment.
            payment_id=obj.get("last_transaction_id") or last.get("id") or str(event.get("id")),
            amount=_int(product.get("price"), last.get("amount")),
            currency=product.get("currency") or last.get("currency"),
        )
    if kind in ("subscription.canceled", "subscription.expired"):
        return ProviderEvent(
            **base,
            kind=EventKind.SUBSCRIPTION_CANCELED,
            order_id=order_id,
            subscription_ref=obj.get("id"),
        )
    if kind == "refund.created":
        return ProviderEvent(
            **base,
            kind=EventKind.REFUND,
            order_id=order_id,
            refund_id=obj.get("id"),
            payment_id=_ref(obj.get("order")) or _ref(obj.get("transaction")),
            subscription_ref=_ref(obj.get("subscription")),
            amount=_int(obj.get("refund_amount")),
            currency=obj.get("refund_currency") or obj.get("currency"),
            refund_status="succeeded",
        )
    if kind == "dispute.created":
        return ProviderEvent(
            **base,
            kind=EventKind.DISPUTE_OPENED,
            order_id=order_id,
            dispute_id=obj.get("id"),
            payment_id=_ref(obj.get("order")) or _ref(obj.get("transaction")),
            subscription_ref=_ref(obj.get("subscription")),
            amount=_int(obj.get("amount")),
            currency=obj.get("currency"),
            dispute_status="open",
        )
    return ProviderEvent(**base, kind=EventKind.IGNORED, order_id=order_id)


def _order_id(obj: Mapping[str, Any]) -> str | None:
    """Our order id: on the object itself, else on the checkout or subscription it names.

    A refund or dispute carries the checkout (with our metadata and request_id) as an
    expanded object where Creem includes it.
    """
    for holder in (obj, _mapping(obj.get("checkout")), _mapping(obj.get("subscription"))):
        found = _mapping(holder.get("metadata")).get("order_id") or holder.get("request_id")
        if found:
            return str(found)
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(*values: object) -> int | None:
    """The first amount in minor units (Creem sends whole numbers); others are skipped."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
    return None


def _ref(value: object) -> str | None:
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return str(value) if value else None


def _time(value: object) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _peek_id(body: bytes) -> str | None:
    try:
        found = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None
    return str(found) if found else None
