"""What every use case needs: the database, the one clock, the catalog, and who to tell."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from creditflow.clock import Clock
from creditflow.domain.catalog import Catalog
from creditflow.domain.ledger import Transfer
from creditflow.payments.base import PaymentProvider
from creditflow.services.idempotency import IdempotencyKey, recall, remember
from creditflow.store.connections import Connections
from creditflow.store.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


def _ignore(_transfers: Sequence[Transfer]) -> None:
    return None


@dataclass(frozen=True)
class ServiceContext:
    connections: Connections
    clock: Clock
    catalog: Catalog
    providers: dict[str, PaymentProvider] = field(default_factory=dict)
    """Payment providers by name (`test`, and those configured)."""
    on_posted: Callable[[Sequence[Transfer]], None] = field(default=_ignore)
    """Told of every committed transfer (metrics count credits granted and spent by kind)."""

    def writing(self) -> UnitOfWork:
        return UnitOfWork(self.connections)

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

    def run(
        self,
        use_case: Callable[[UnitOfWork], M],
        *,
        result_type: type[M],
        idempotency: IdempotencyKey | None = None,
    ) -> M:
        """Run a writing use case in one transaction, at most once per idempotency key.

        A repeat of a key gives back the stored result; when two callers race with one key on
        PostgreSQL, the loser's transaction is rolled back and retried as a replay.
        """
        for _ in range(3):
            with self.writing() as uow:
                if idempotency is not None:
                    stored = recall(uow, idempotency, result_type)
                    if stored is not None:
                        return stored
                result = use_case(uow)
                if idempotency is not None and not remember(
                    uow, idempotency, result, now=self.clock.now()
                ):
                    continue
                uow.commit()
            if uow.posted:
                self.on_posted(uow.posted)
            return result
        raise RuntimeError("idempotency key kept changing hands")  # pragma: no cover
