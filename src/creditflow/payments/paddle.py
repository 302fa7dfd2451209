"""Paddle Billing: transactions as checkouts, adjustments as refunds, signed notifications.

`Paddle-Signature: ts=…;h1=…` is HMAC-SHA256 of `"{ts}:{raw body}"` with the notification
destination's secret; during a secret rotation Paddle may send an `h1` per secret. Refunds and
chargebacks are both `adjustment.*` events: a refund starts `pending_approval` and only counts
once `approved`. Adjustments carry no custom data, so they find their order by the transaction.
Paddle has no idempotency header for adjustments: a refund's reason carries our idempotency key,
and an adjustment that already has it is given back instead of refunding twice.

A chargeback and its reversal are separate adjustments with ids of their own, and nothing in
the reversal names the chargeback it undoes. Both are therefore keyed by the transaction
(`chargeback:<txn id>`, the transaction also in `payment_id`), so the reversal closes the
dispute the chargeback opened, and a `chargeback_warning` followed by its `chargeback` stays
one dispute rather than two.
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
        if not isinstance(event, dict):
            raise WebhookRejected("The body is not a Paddle notification.", event_id=event_id)
        return [read_event(event)]

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        price: dict[str, Any] = {
            "description": request.description[:250] or request.product_ref,
            "name": request.product_ref,
            "unit_price": {
                "amount": str(request.amount),
                "currency_code": request.currency.upper(),
            },
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
        data = self._call("POST", "/transactions", body)
        url = _mapping(data.get("checkout")).get("url")
        if not url:
            # Paddle gives a checkout URL only once a default payment link is set.
            raise ProviderError(
                f"Paddle created transaction {data['id']} without a checkout URL; set a default "
                "payment link in Paddle > Checkout > Checkout settings.",
                retryable=False,
            )
        return CheckoutSession(url=str(url), provider_ref=str(data["id"]))

    def refund(self, request: RefundRequest) -> RefundResult:
        """A `full` adjustment when the whole grand total goes back, else a partial one.

        The request does not carry the payment's total, and a partial adjustment needs a line
        item id we never stored, so the transaction is read first for both. There is no
        idempotency header: a resend after a lost answer would be a second adjustment (Paddle
        refuses only what exceeds the amount left). So the reason carries our idempotency key,
        and the transaction's refund adjustments are read first: one with our key is the answer
        of an earlier attempt, given back instead of refunding again.
        """
        earlier = self._earlier_adjustment(request)
        if earlier is not None:
            return earlier
        transaction = self._call("GET", f"/transactions/{request.payment_id}", None)
        details = _mapping(transaction.get("details"))
        grand_total = _int(_mapping(details.get("totals")).get("grand_total"))
        full = grand_total is not None and request.amount >= grand_total
        body: dict[str, Any] = {
            "action": "refund",
            "transaction_id": request.payment_id,
            "reason": _reason_with_key(request),
            "type": "full" if full else "partial",
        }
        if not full:
            lines = details.get("line_items") or []
            first = _mapping(lines[0]) if isinstance(lines, list) and lines else {}
            if not first.get("id"):
                raise ProviderError(
                    f"Paddle transaction {request.payment_id} has no line item to refund part of.",
                    retryable=False,
                )
            amount = str(request.amount)
            body["items"] = [{"item_id": first["id"], "type": "partial", "amount": amount}]
        data = self._call("POST", "/adjustments", body)
        return RefundResult(
            provider_refund_id=str(data["id"]),
            status=ADJUSTMENT_STATUS.get(str(data.get("status")), "pending"),
        )

    def _earlier_adjustment(self, request: RefundRequest) -> RefundResult | None:
        listed = self._call(
            "GET",
            f"/adjustments?transaction_id={request.payment_id}&action=refund&per_page=50",
            None,
            listing=True,
        )
        marker = f"[{request.idempotency_key}]"
        for adjustment in listed.get("items") or []:
            adjustment = _mapping(adjustment)
            if marker in str(adjustment.get("reason") or "") and adjustment.get("id"):
                return RefundResult(
                    provider_refund_id=str(adjustment["id"]),
                    status=ADJUSTMENT_STATUS.get(str(adjustment.get("status")), "pending"),
                )
        return None

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        listing: bool = False,
    ) -> Mapping[str, Any]:
        """The `data` of Paddle's answer; ProviderError for anything else."""
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
        try:
            answer = _mapping(response.json())
        except ValueError:
            answer = {}
        if response.status_code >= 400:
            problem = _mapping(answer.get("error"))
            detail = problem.get("detail") or problem.get("code") or response.text[:200]
            raise ProviderError(
                f"Paddle answered {response.status_code}: {detail}",
                retryable=retryable_status(response.status_code),
            )
        if listing:
            items = answer.get("data")
            return {"items": items if isinstance(items, list) else []}
        data = _mapping(answer.get("data"))
        if not data.get("id"):
            raise ProviderError(f"Paddle answered {response.status_code} without an entity id.")
        return data


def _reason_with_key(request: RefundRequest) -> str:
    """Paddle's only free text on an adjustment: the reason, with our key in brackets."""
    return f"{request.reason[:200]} [{request.idempotency_key}]"


def read_event(event: Mapping[str, Any]) -> ProviderEvent:
    kind = str(event.get("event_type"))
    data = _mapping(event.get("data"))
    base: dict[str, Any] = {
        "provider": "paddle",
        "event_id": str(event.get("event_id")),
        "type": kind,
        "occurred_at": _time(event.get("occurred_at")),
        "raw": dict(event),
    }
    custom = _mapping(data.get("custom_data"))
    if kind in ("transaction.completed", "transaction.paid", "transaction.payment_failed"):
        totals = _mapping(_mapping(data.get("details")).get("totals"))
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
    amount = _int(_mapping(data.get("totals")).get("total"))
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
        # Keyed by the transaction, like the chargeback it reverses (see the module's note).
        return {
            **common,
            "kind": EventKind.DISPUTE_CLOSED,
            "dispute_id": f"chargeback:{data.get('transaction_id')}",
            "dispute_status": "won",
        }
    return {**common, "kind": EventKind.IGNORED}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
