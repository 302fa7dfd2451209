"""What the engine's method groups (`engine_billing`, `engine_jobs`) rely on.

`creditflow.Engine` provides these; the groups are mixins so each stays a module one can read
in one sitting, and this base lets mypy check them on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from creditflow.domain.catalog import Catalog
    from creditflow.services.context import ServiceContext
    from creditflow.services.idempotency import IdempotencyKey
    from creditflow.services.views import AccountView, OrderView
    from creditflow.store.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)


class EngineParts:
    context: ServiceContext
    catalog: Catalog

    def _write(
        self,
        operation: str,
        args: dict[str, Any],
        idempotency_key: str | IdempotencyKey | None,
        result_type: type[M],
        use_case: Callable[[UnitOfWork, datetime], M],
    ) -> M:
        """One use case in one transaction, replayed for a repeated idempotency key."""
        raise NotImplementedError

    def account(self, account_id: str) -> AccountView:
        raise NotImplementedError

    def _open_checkout(self, order: OrderView, *, email: str, interval: str | None) -> None:
        """Open the provider's hosted checkout for a pending order (engine_money)."""
        raise NotImplementedError

    def _read(self, use_case: Callable[[UnitOfWork], M]) -> M:
        with self.context.reading() as uow:
            return use_case(uow)
