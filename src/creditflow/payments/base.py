"""The provider interface every payment adapter implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import httpx

from creditflow.payments.events import (
    CheckoutRequest,
    CheckoutSession,
    ProviderEvent,
    RefundRequest,
    RefundResult,
)

if TYPE_CHECKING:
    from creditflow.store.uow import UnitOfWork

ChargeStatus = Literal["succeeded", "declined", "pending"]


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    order_id: str
    account_id: str
    amount: int
    currency: str
    description: str
    idempotency_key: str
    """Derived from our own ids, so a retried call never charges twice at the provider."""


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    status: ChargeStatus
    """`pending` means the customer finishes at `checkout_url`; a webhook reports the result."""
    payment_id: str | None = None
    checkout_url: str | None = None
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    def charge(self, uow: UnitOfWork, request: ChargeRequest) -> ChargeOutcome:
        """Charge (or start a checkout for) an order.

        `uow` is the caller's transaction: a provider that keeps state of its own (the test
        provider's per-account behaviour) keeps it there; adapters that call out over the network
        must not hold it across the call.
        """
        ...


class Refunder(Protocol):
    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund all or part of a payment, with the provider's idempotency where it has one."""
        ...


class ProviderAdapter(Protocol):
    """A real payment provider (Stripe, Paddle, Creem): its checkouts, refunds and webhooks.

    Every method is called outside any database transaction: these are network calls.
    """

    name: str

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Start the provider's hosted checkout for an order; our order id rides along."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund all or part of a payment, with the provider's idempotency where it has one."""
        ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> list[ProviderEvent]:
        """Verify a delivery against the raw body and read it; WebhookRejected if it fails.

        `now` is the wall clock in Unix seconds (never the test clock): a signed timestamp is
        about real-world replays.
        """
        ...


class HttpAdapter:
    """What every hosted adapter keeps: its API key, its webhook secrets, its HTTP client.

    Several secrets at once, so a secret can be rotated without refusing deliveries signed
    with the old one; an injected client, so tests answer from recorded responses.
    """

    default_api = ""

    def __init__(
        self,
        *,
        api_key: str | None,
        webhook_secrets: Sequence[str],
        tolerance_seconds: int = 300,
        client: httpx.Client | None = None,
        api_base: str | None = None,
    ) -> None:
        self._api_key = api_key
        self._secrets = [s for s in webhook_secrets if s]
        self._tolerance = tolerance_seconds
        self._client = client or httpx.Client(timeout=10)
        self._base = (api_base or self.default_api).rstrip("/")
