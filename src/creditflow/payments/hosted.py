"""A real provider seen from the order flow: its charges finish on its own pages.

Inside a transaction nothing may wait on the network, so a charge through Stripe, Paddle or
Creem only leaves the order `pending`; the engine opens the provider's checkout after the
commit, and the provider's webhook reports the payment (or the renewal it billed by itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from creditflow.payments.base import ChargeOutcome, ChargeRequest, ProviderAdapter

if TYPE_CHECKING:
    from creditflow.store.uow import UnitOfWork


class HostedProvider:
    def __init__(self, adapter: ProviderAdapter) -> None:
        self.adapter = adapter
        self.name = adapter.name

    def charge(self, uow: UnitOfWork, request: ChargeRequest) -> ChargeOutcome:
        return ChargeOutcome("pending")
