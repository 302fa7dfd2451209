"""Low-balance alerts: `credits.low` once each time an account's credits fall below a line.

The check runs in every transaction that moved an account's credits, just before it commits,
on the balances before its first entry and after its last. An account's changes are serialised
by its row lock, so whatever the concurrency, falls and recoveries come in one order: an alert
for each fall from the threshold or more to below it, and none again until a recovery to the
threshold has been followed by another fall.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import InvalidRequest
from creditflow.domain.events import EventType
from creditflow.domain.kinds import MAX_CREDITS
from creditflow.services.accounts import require_account
from creditflow.services.credits import get_balance
from creditflow.services.events import emit
from creditflow.services.views import AlertsView
from creditflow.store.uow import UnitOfWork


def alert_on_low_balance(uow: UnitOfWork, *, catalog: Catalog, now: datetime) -> None:
    default = catalog.alerts.low_balance if catalog.alerts else None
    for account_id, move in list(uow.balance_moves.items()):
        threshold = default if move.low_balance is None else move.low_balance
        if threshold is not None and move.before >= threshold > move.after:
            balance = get_balance(
                uow, catalog=catalog, now=now, account_id=account_id, channel=None
            )
            emit(uow, EventType.CREDITS_LOW, account_id=account_id, obj=balance, now=now)


def set_alerts(
    uow: UnitOfWork, *, catalog: Catalog, account_id: str, low_balance: int | None
) -> AlertsView:
    """The account's own threshold (0: never); None goes back to the catalog's."""
    if low_balance is not None and (
        isinstance(low_balance, bool)
        or not isinstance(low_balance, int)
        or not 0 <= low_balance <= MAX_CREDITS
    ):
        raise InvalidRequest(
            f"low_balance must be a whole number from 0 to {MAX_CREDITS}, or null for the "
            "catalog's threshold.",
            field="low_balance",
        )
    require_account(uow, account_id, for_update=True)
    uow.accounts.set_low_balance(account_id, low_balance)
    return get_alerts(uow, catalog=catalog, account_id=account_id)


def get_alerts(uow: UnitOfWork, *, catalog: Catalog, account_id: str) -> AlertsView:
    account = require_account(uow, account_id)
    own = uow.accounts.low_balance(account.id)
    if own is not None:
        return AlertsView(account_id=account.id, low_balance=own, source="account")
    default = catalog.alerts.low_balance if catalog.alerts else None
    return AlertsView(account_id=account.id, low_balance=default, source="catalog")
