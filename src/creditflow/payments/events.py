"""Provider webhooks, verified and read into one shape the service layer applies.

Each adapter (stripe, paddle, creem) verifies a delivery exactly as its provider documents and
reads it into `ProviderEvent`s; nothing here touches the database. The service applies them
idempotently (unique by provider and event id) and so that any arrival order ends in the same
state: amounts are recomputed from what has been recorded, never accumulated blindly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    """Money was taken for an order: a checkout paid, a renewal or an upgrade charged."""
    PAYMENT_FAILED = "payment_failed"
    """A charge was declined (a renewal: the subscription is past_due)."""
    REFUND = "refund"
    """Money went back. `refund_id` names one refund; Stripe's `charge.refunded` gives only a
    running total, in `refunded_total`, from which the service takes the difference."""
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CLOSED = "dispute_closed"
    """`dispute_status` is `won` or `lost`."""
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    IGNORED = "ignored"
    """Verified, recorded, answered 200, and changes nothing (a type we do not map)."""


class WebhookRejected(Exception):
    """A delivery that is not provably from the provider: answered 400, nothing applied."""

    def __init__(self, message: str, *, event_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.event_id = event_id
        """Read from the unverified body where possible, only for the log."""


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    provider: str
    event_id: str
    type: str
    """The provider's own type, e.g. `invoice.paid`, `transaction.completed`."""
    kind: EventKind
    occurred_at: datetime | None = None
    order_id: str | None = None
    """Our order id, carried in the provider's metadata / custom_data / request_id."""
    subscription_ref: str | None = None
    """The provider's subscription id, for renewals and cancellations."""
    customer_ref: str | None = None
    payment_id: str | None = None
    """The provider's charge / transaction / payment id."""
    amount: int | None = None
    """Minor units: of the payment, of this refund, or of the dispute."""
    currency: str | None = None
    fingerprint: str | None = None
    """The card's fingerprint (Stripe), else the customer id: links accounts paying alike."""
    refund_id: str | None = None
    refunded_total: int | None = None
    refund_status: str | None = None
    """`pending` (Paddle's pending_approval), `succeeded`, `failed`."""
    dispute_id: str | None = None
    dispute_status: str | None = None
    """`open`, `won`, `lost`."""
    checkout_ref: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    order_id: str
    account_id: str
    email: str
    amount: int
    currency: str
    description: str
    mode: str
    """`payment` (a pack or add-on) or `subscription` (a plan)."""
    product_ref: str
    """Our product code (pack or plan code, or `addon`)."""
    success_url: str
    """Where the provider sends the customer after paying (the request's, or `[site]`'s)."""
    cancel_url: str
    interval: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    url: str
    provider_ref: str
    """The provider's checkout / transaction id, kept on the order."""


@dataclass(frozen=True, slots=True)
class RefundRequest:
    order_id: str
    payment_id: str
    """The provider's payment to refund (charge / payment_intent / transaction id)."""
    amount: int
    currency: str
    reason: str
    idempotency_key: str
    """Derived from our own refund id, so a retried call never refunds twice."""


@dataclass(frozen=True, slots=True)
class RefundResult:
    provider_refund_id: str
    status: str
    """`pending`, `succeeded` or `failed`."""
