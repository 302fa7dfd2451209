"""The unit of work: one database transaction and the repositories that work inside it.

A use case opens one, does its work, and calls `commit()`; leaving the block without a commit
rolls everything back, so a refused request leaves no trace. Repositories never commit.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from creditflow.domain.ledger import Transfer
from creditflow.store.accounts import AccountRepository
from creditflow.store.api_keys import ApiKeyRepository
from creditflow.store.clock_state import ClockStateRepository
from creditflow.store.due_work import DueWorkRepository
from creditflow.store.holds import HoldRepository
from creditflow.store.idempotency import IdempotencyRepository
from creditflow.store.ledger import LedgerRepository


class UnitOfWork:
    accounts: AccountRepository
    ledger: LedgerRepository
    holds: HoldRepository
    due_work: DueWorkRepository
    idempotency: IdempotencyRepository
    api_keys: ApiKeyRepository
    clock_state: ClockStateRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self.posted: list[Transfer] = []
        """Transfers posted in this transaction, reported to metrics once it commits."""

    def __enter__(self) -> UnitOfWork:
        connection = self._engine.connect()
        if self._read_only:
            connection = connection.execution_options(sqlite_begin="DEFERRED")
        self.connection: Connection = connection
        self._transaction = connection.begin()
        self.accounts = AccountRepository(connection)
        self.ledger = LedgerRepository(connection, self.accounts, self.posted)
        self.holds = HoldRepository(connection)
        self.due_work = DueWorkRepository(connection)
        self.idempotency = IdempotencyRepository(connection)
        self.api_keys = ApiKeyRepository(connection)
        self.clock_state = ClockStateRepository(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()

    def commit(self) -> None:
        self._transaction.commit()
