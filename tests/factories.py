"""Test data in one place: accounts with grants, made through the engine's public API."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from creditflow.engine import Engine
from creditflow.services.views import AccountView

_numbers = count(1)


def make_account(engine: Engine, *, country: str | None = None) -> AccountView:
    n = next(_numbers)
    return engine.create_account(
        external_id=f"user-{n}", email=f"user{n}@example.com", country=country
    )


def funded_account(
    engine: Engine,
    credits: int,
    *,
    kind: str = "purchased",
    expires_at: datetime | None = None,
    channel: str | None = None,
) -> AccountView:
    account = make_account(engine)
    engine.grant(
        account.id,
        credits=credits,
        kind=kind,
        reason="test",
        expires_at=expires_at,
        channel=channel,
    )
    return account


def ledger_sum(engine: Engine, account_id: str) -> tuple[int, int]:
    """The sums of the account's ledger: (available, held), read page by page."""
    available = held = 0
    cursor = None
    while True:
        page = engine.ledger(account_id, limit=500, cursor=cursor)
        available += sum(e.credits for e in page.data)
        held += sum(e.held for e in page.data)
        if page.next_cursor is None:
            return available, held
        cursor = page.next_cursor
