"""What every use case needs: the database, the one clock, the catalog, the providers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection

from creditflow.clock import Clock
from creditflow.domain.catalog import Catalog
from creditflow.domain.ledger import Transfer
from creditflow.jobs.files import FileStore
from creditflow.payments.base import PaymentProvider, ProviderAdapter, Refunder
from creditflow.payments.errors import ProviderError
from creditflow.payments.test_provider import TestPaymentProvider
from creditflow.services.alerts import alert_on_low_balance
from creditflow.store.connections import Connections
from creditflow.store.group_commit import Writers
from creditflow.store.uow import UnitOfWork

R = TypeVar("R")


def _ignore(_transfers: Sequence[Transfer]) -> None:
    return None


@dataclass(frozen=True)
class ServiceContext:
    connections: Connections
    clock: Clock
    catalog: Catalog
    files: FileStore
    writers: Writers
    """The group-commit writers that spends, holds, captures and releases go through."""
    providers: dict[str, PaymentProvider] = field(default_factory=dict)
    """How an order is charged, by provider name (`test`, and those configured)."""
    adapters: dict[str, ProviderAdapter] = field(default_factory=dict)
    """The APIs of the hosted providers configured here (checkouts, refunds, webhooks)."""
    on_posted: Callable[[Sequence[Transfer]], None] = field(default=_ignore)
    """Told of every committed transfer (metrics count credits granted and spent by kind)."""

    def writing(self) -> UnitOfWork:
        return UnitOfWork(self.connections, before_commit=self._before_commit)

    def within(self, connection: Connection) -> UnitOfWork:
        """A unit of work in a savepoint of a group commit's transaction, on its connection."""
        return UnitOfWork(self.connections, before_commit=self._before_commit, within=connection)

    def _before_commit(self, uow: UnitOfWork) -> None:
        """In every transaction that moved credits: the low-balance alerts it sets off."""
        alert_on_low_balance(uow, catalog=self.catalog, now=self.clock.now())

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self.connections, read_only=True)

    def run_plain(self, use_case: Callable[[UnitOfWork], R]) -> R:
        """Run a writing use case that takes no idempotency key, in one transaction."""
        with self.writing() as uow:
            result = use_case(uow)
            uow.commit()
        if uow.posted:
            self.on_posted(uow.posted)
        return result

    def refunder(self, provider: str) -> Refunder:
        if provider == "test":
            test = self.providers.get("test")
            return test if isinstance(test, TestPaymentProvider) else TestPaymentProvider()
        adapter = self.adapters.get(provider)
        if adapter is None:
            raise ProviderError(f"The {provider} provider is not configured here.")
        return adapter
