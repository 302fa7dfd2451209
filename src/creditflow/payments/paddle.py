"""Paddle Billing: transactions as checkouts, adjustments as refunds, signed notifications.

`Paddle-Signature: ts=…;h1=…` is HMAC-SHA256 of `"{ts}:{raw body}"` with the notification
destination's secret; during a secret rotation Paddle may send an `h1` per secret. Refunds and
chargebacks are both `adjustment.*` events: a refund starts `pending_approval` and only counts
once `approved`. Adjustments carry no custom data, so they find their order by the transaction.
Paddle has no idempotency header for adjustments: our own pending refund record is the guard.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from creditflow.payments.base import HttpAdapter
from creditflow.payments.errors import ProviderError
from creditflow.payments.events import (
    CheckoutRequest,
    CheckoutSession,
    EventKind,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    WebhookRejected,
)

API = "https://api.paddle.com"
ADJUSTMENT_STATUS = {"pending_approval": "pending", "approved": "succeeded", "rejected": "failed"}


class PaddleAdapter(HttpAdapter):
    name = "paddle"
    default_api = API

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> list[ProviderEvent]:
        header = {k.lower(): v for k, v in headers.items()}.get("paddle-signature")
        event_id = _peek_id(body)
        if not header:
            raise WebhookRejected("The Paddle-Signature header is missing.", event_id=event_id)
        parts = [item.split("=", 1) for item in header.split(";") if "=" in item]
        stamps = [value for key, value in parts if key == "ts"]
        signatures = [value for key, value in parts if key == "h1"]
        if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
            raise WebhookRejected("The Paddle-Signature header is malformed.", event_id=event_id)
        signed = stamps[0].encode() + b":" + body
        expected = [
            hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            for secret in self._secrets
        ]
        if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
            raise WebhookRejected(
                "The Paddle signature does not match the body with any configured secret.",
                event_id=event_id,
            )
        if abs(now - int(stamps[0])) > self._tolerance:
            raise WebhookRejected(
                f"The Paddle signature is {int(abs(now - int(stamps[0])))} s old; at most "
                f"{self._tolerance} s is accepted.",
                event_id=event_id,
            )
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("The body is not JSON.", event_id=event_id) from None
        return [read_event(event)]

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        price: dict[str, Any] = {
            "description": request.description[:250] or request.product_ref,
            "name": request.product_ref,
            "unit_price": {"amount": str(request.amount), "currency_code": request.currency},
            "product": {
                "name": request.description[:250] or request.product_ref,
                "tax_category": "standard",
            },
        }
        if request.mode == "subscription":
            price["billing_cycle"] = {"interval": request.interval or "month", "frequency": 1}
        body = {
            "items": [{"quantity": 1, "price": price}],
            "custom_data": {"order_id": request.order_id, "account_id": request.account_id},
            "collection_mode": "automatic",
        }
        data = self._call("POST", "/transactions", body)["data"]
        return CheckoutSession(url=str(data["checkout"]["url"]), provider_ref=str(data["id"]))

    def refund(self, request: RefundRequest) -> RefundResult:
        transaction = self._call("GET", f"/transactions/{request.payment_id}", None)["data"]
        totals = transaction.get("details", {}).get("totals", {})
        full = int(totals.get("grand_total", request.amount)) <= request.amount
        body: dict[str, Any] = {
            "action": "refund",
            "transaction_id": request.payment_id,
            "reason": request.reason,
            "type": "full" if full else "partial",
        }
        if not full:
            item_id = transaction["details"]["line_items"][0]["id"]
            body["items"] = [{"item_id": item_id, "type": "partial", "amount": str(request.amount)}]
        data = self._call("POST", "/adjustments", body)["data"]
        return RefundResult(
            provider_refund_id=str(data["id"]),
            status=ADJUSTMENT_STATUS.get(str(data.get("status")), "pending"),
        )

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        if not self._api_key:
            raise ProviderError("Paddle: no API key is configured (CREDITFLOW_PADDLE_API_KEY).")
        try:
            response = self._client.request(
                method,
                f"{self._base}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self._api_key}"},
            )
        except httpx.HTTPError as error:
            raise ProviderError(f"Paddle could not be reached: {error}.") from error
        if response.status_code >= 400:
            raise ProviderError(f"Paddle answered {response.status_code}: {response.text[:200]}")
        result: dict[str, Any] = response.json()
        return result


def read_event(event: Mapping[str, Any]) -> ProviderEvent:
    kind = str(event.get("event_type"))
    data: Mapping[str, Any] = event.get("data") or {}
    base: dict[str, Any] = {
        "provider": "paddle",
        "event_id": str(event.get("event_id")),
        "type": kind,
        "occurred_at": _time(event.get("occurred_at")),
        "raw": dict(event),
    }
    custom = data.get("custom_data") or {}
    if kind in ("transaction.completed", "transaction.paid", "transaction.payment_failed"):
        totals = (data.get("details") or {}).get("totals") or {}
        failed = kind == "transaction.payment_failed"
        return ProviderEvent(
            **base,
            kind=EventKind.PAYMENT_FAILED if failed else EventKind.PAYMENT_SUCCEEDED,
            order_id=custom.get("order_id"),
            payment_id=data.get("id"),
            subscription_ref=data.get("subscription_id"),
            customer_ref=data.get("customer_id"),
            fingerprint=data.get("customer_id"),
            amount=_int(totals.get("grand_total")),
            currency=data.get("currency_code"),
        )
    if kind in ("adjustment.created", "adjustment.updated"):
        return ProviderEvent(**base, **_adjustment(data))
    if kind == "subscription.canceled":
        return ProviderEvent(
            **base,
            kind=EventKind.SUBSCRIPTION_CANCELED,
            order_id=custom.get("order_id"),
            subscription_ref=data.get("id"),
            customer_ref=data.get("customer_id"),
        )
    return ProviderEvent(**base, kind=EventKind.IGNORED)


def _adjustment(data: Mapping[str, Any]) -> dict[str, Any]:
    action = data.get("action")
    amount = _int((data.get("totals") or {}).get("total"))
    common = {
        "payment_id": data.get("transaction_id"),
        "amount": amount,
        "customer_ref": data.get("customer_id"),
        "currency": data.get("currency_code"),
    }
    if action == "refund":
        return {
            **common,
            "kind": EventKind.REFUND,
            "refund_id": data.get("id"),
            "refund_status": ADJUSTMENT_STATUS.get(str(data.get("status")), "pending"),
        }
    if action in ("chargeback", "chargeback_warning"):
        return {
            **common,
            "kind": EventKind.DISPUTE_OPENED,
            "dispute_id": f"chargeback:{data.get('transaction_id')}",
            "dispute_status": "open",
        }
    if action == "chargeback_reverse":
        # The reversal is its own adjustment; the dispute it closes is the transaction's
        # chargeback, which is why both are keyed by the transaction.
        return {
            **common,
            "kind": EventKind.DISPUTE_CLOSED,
            "dispute_id": f"chargeback:{data.get('transaction_id')}",
            "dispute_status": "won",
        }
    return {**common, "kind": EventKind.IGNORED}


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _peek_id(body: bytes) -> str | None:
    try:
        found = json.loads(body).get("event_id")
    except (ValueError, AttributeError):
        return None
    return str(found) if found else None
