"""The provider interface every payment adapter implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

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
