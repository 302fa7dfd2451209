"""`creditflow accounts show`: one account as a person reads it, in tables.

Kept apart from `cli.py` so the command module stays a list of commands; this one only renders
the engine's views, it never reads the database itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.table import Table

if TYPE_CHECKING:
    from creditflow.engine import Engine
    from creditflow.services.views import AccountView


def _when(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC") if instant else "never"


def find_account(engine: Engine, id_or_external_id: str) -> AccountView | None:
    """An account by its id (`acc_…`) or, failing that, by the site's own external id."""
    from creditflow.domain.errors import NotFound

    try:
        return engine.account(id_or_external_id)
    except NotFound:
        return engine.find_account(id_or_external_id)


def account_report(engine: Engine, account: AccountView) -> Group:
    balance = engine.balance(account.id)
    header = Table.grid(padding=(0, 2))
    header.add_row("account", f"{account.id} ({account.external_id}, {account.email})")
    header.add_row("status", account.status)
    header.add_row("available", f"{balance.available} credits ({balance.held} held)")

    by_kind = Table(title="Balance by kind", title_justify="left")
    by_kind.add_column("kind")
    by_kind.add_column("credits", justify="right")
    for kind, credits in sorted(balance.by_kind.items()):
        by_kind.add_row(kind, str(credits))

    grants = Table(title="Grants with credits left (in draw-down order)", title_justify="left")
    for column in ("grant", "kind", "left", "held", "priority", "channel", "expires"):
        grants.add_column(column, justify="right" if column in ("left", "held") else "left")
    for grant in balance.grants:
        grants.add_row(
            grant.id,
            grant.kind,
            str(grant.remaining),
            str(grant.held),
            str(grant.priority),
            grant.channel,
            _when(grant.expires_at),
        )

    subscriptions = Table(title="Subscriptions", title_justify="left")
    for column in ("subscription", "plan", "interval", "status", "period", "note"):
        subscriptions.add_column(column)
    for sub in engine.subscriptions(account.id):
        note = []
        if sub.cancel_at_period_end:
            note.append("cancels at period end")
        if sub.scheduled_change:
            note.append(f"becomes {sub.scheduled_change.plan} at period end")
        subscriptions.add_row(
            sub.id,
            sub.plan,
            sub.interval,
            sub.status,
            f"{_when(sub.current_period_start)} to {_when(sub.current_period_end)}",
            ", ".join(note),
        )

    entitlements = engine.entitlements(account.id)
    features = Table(
        title=f"Entitlements ({entitlements.plan or 'no plan: the free tier'})",
        title_justify="left",
    )
    for column in ("feature", "limit", "used", "remaining", "enabled"):
        features.add_column(column)
    for name, feature in entitlements.features.items():
        features.add_row(
            name,
            *(
                ""
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
                for value in (feature.limit, feature.used, feature.remaining, feature.enabled)
            ),
        )
    return Group(header, by_kind, grants, subscriptions, features)


def print_account(engine: Engine, account: AccountView, *, width: int | None = None) -> None:
    Console(width=width).print(account_report(engine, account))
