"""The unit of work: one database transaction and the repositories that work inside it.

A use case opens one, does its work, and calls `commit()`; leaving the block without a commit
rolls everything back, so a refused request leaves no trace. Repositories never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType

from sqlalchemy import Connection

from creditflow.domain.ledger import Transfer
from creditflow.store.accounts import AccountRepository
from creditflow.store.api_keys import ApiKeyRepository
from creditflow.store.clock_state import ClockStateRepository
from creditflow.store.connections import Connections
from creditflow.store.documents import DocumentRepository
from creditflow.store.due_work import DueWorkRepository
from creditflow.store.endpoints import EndpointRepository
from creditflow.store.events import EventRepository
from creditflow.store.fresh_orders import FreshOrders
from creditflow.store.group_commit import SAVEPOINTS
from creditflow.store.holds import HoldRepository
from creditflow.store.idempotency import IdempotencyRepository
from creditflow.store.jobs import JobRepository
from creditflow.store.ledger import BalanceMove, LedgerRepository
from creditflow.store.memberships import MembershipRepository
from creditflow.store.orders import OrderRepository
from creditflow.store.outbox import OutboxRepository
from creditflow.store.portal_links import PortalLinkRepository
from creditflow.store.provider_calls import ProviderCallRepository
from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.refund_requests import RefundRequestRepository
from creditflow.store.refunds import DisputeRepository, RefundRepository
from creditflow.store.staff import StaffRepository
from creditflow.store.subscriptions import PlanChangeRepository, SubscriptionRepository
from creditflow.store.web_sessions import WebSessionRepository
from creditflow.store.webhooks import WebhookEventRepository

SAVEPOINT = Statement("SAVEPOINT request")
RELEASE = Statement("RELEASE SAVEPOINT request")
ROLLBACK_TO = Statement("ROLLBACK TO SAVEPOINT request")


class UnitOfWork:
    """One transaction; or, `within` a group commit's transaction, one savepoint of it.

    In a savepoint, `commit()` releases it (the batch commits it later, with the others) and
    leaving without a commit rolls back to it: what this unit did is undone, and only that.
    """

    accounts: AccountRepository
    ledger: LedgerRepository
    connection: Connection

    def __init__(
        self,
        connections: Connections,
        *,
        read_only: bool = False,
        before_commit: Callable[[UnitOfWork], None] | None = None,
        within: Connection | None = None,
    ) -> None:
        self._connections = connections
        self._within = within
        self._open = False
        self.in_savepoint = False
        self._read_only = read_only
        self._before_commit = before_commit
        self.posted: list[Transfer] = []
        """Transfers posted in this transaction, reported to metrics once it commits."""
        self.balance_moves: dict[str, BalanceMove] = {}
        """Each account's available credits before and after this transaction's entries."""

    def __enter__(self) -> UnitOfWork:
        if self._within is not None:
            return self._enter_savepoint(self._within)
        lock = None if self._read_only else self._connections.write_lock
        if lock is not None:
            lock.acquire()
        self._lock = lock
        try:
            return self._enter_transaction()
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    def _enter_savepoint(self, connection: Connection) -> UnitOfWork:
        self.connection = connection
        self._lock = None
        self._make_repositories(connection)
        # Without one (a group commit's first try), a failure here rolls back the whole batch.
        self.in_savepoint = bool(connection.info.get(SAVEPOINTS, True))
        if self.in_savepoint:
            self.driver.execute(SAVEPOINT, {})
        self._open = True
        return self

    def _enter_transaction(self) -> UnitOfWork:
        connection = self._connections.acquire()
        # Read by the SQLite begin hook: readers need not wait for the write lock.
        connection.info["sqlite_begin"] = "DEFERRED" if self._read_only else "IMMEDIATE"
        self.connection = connection
        try:
            self._transaction = connection.begin()
        except BaseException:
            # `__exit__` does not run when `__enter__` fails, so the connection goes back here.
            # The driver may be inside a transaction it began before the failure: drop it.
            connection.invalidate()
            self._connections.release(connection)
            raise
        self._make_repositories(connection)
        return self

    def _make_repositories(self, connection: Connection) -> None:
        self.driver = Driver(connection)
        self.fresh_orders = FreshOrders()
        self.accounts = AccountRepository(connection, self.driver)
        self.ledger = LedgerRepository(
            connection, self.driver, self.accounts, self.posted, self.balance_moves
        )

    # The other repositories are made on first use: most units of work never touch them.

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.connection, self.driver)

    @cached_property
    def endpoints(self) -> EndpointRepository:
        return EndpointRepository(self.connection)

    @cached_property
    def staff(self) -> StaffRepository:
        return StaffRepository(self.connection)

    @cached_property
    def portal_links(self) -> PortalLinkRepository:
        return PortalLinkRepository(self.connection)

    @cached_property
    def web_sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self.connection)

    @cached_property
    def holds(self) -> HoldRepository:
        return HoldRepository(self.connection)

    @cached_property
    def due_work(self) -> DueWorkRepository:
        return DueWorkRepository(self.connection, self.driver)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self.connection, self.driver)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self.connection)

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.connection, self.driver, self.fresh_orders)

    @cached_property
    def provider_calls(self) -> ProviderCallRepository:
        return ProviderCallRepository(self.connection)

    @cached_property
    def refund_requests(self) -> RefundRequestRepository:
        return RefundRequestRepository(self.connection)

    @cached_property
    def refunds(self) -> RefundRepository:
        return RefundRepository(self.connection, self.driver, self.fresh_orders)

    @cached_property
    def disputes(self) -> DisputeRepository:
        return DisputeRepository(self.connection)

    @cached_property
    def webhook_events(self) -> WebhookEventRepository:
        return WebhookEventRepository(self.connection)

    @cached_property
    def documents(self) -> DocumentRepository:
        return DocumentRepository(self.connection, self.driver, self.fresh_orders)

    @cached_property
    def subscriptions(self) -> SubscriptionRepository:
        return SubscriptionRepository(self.connection, self.driver)

    @cached_property
    def plan_changes(self) -> PlanChangeRepository:
        return PlanChangeRepository(self.connection)

    @cached_property
    def memberships(self) -> MembershipRepository:
        return MembershipRepository(self.connection)

    @cached_property
    def jobs(self) -> JobRepository:
        return JobRepository(self.connection)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.connection, self.driver)

    @cached_property
    def clock_state(self) -> ClockStateRepository:
        return ClockStateRepository(self.connection)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._within is not None:
            if self._open:
                self._open = False
                if self.in_savepoint:
                    self.driver.execute(ROLLBACK_TO, {})
                    self.driver.execute(RELEASE, {})
            return
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            try:
                self._connections.release(self.connection)
            finally:
                if self._lock is not None:
                    self._lock.release()

    def commit(self) -> None:
        """Commit, after what must be part of every transaction (alerts its entries set off)."""
        if self._before_commit is not None and self.balance_moves:
            self._before_commit(self)
        if self._within is not None:
            if self.in_savepoint:
                self.driver.execute(RELEASE, {})
            self._open = False
            return
        self._transaction.commit()
