"""`creditflow check`: recompute every cached number from the ledger and compare.

The ledger is the truth; grants' `remaining` and `held`, accounts' `available` and `held`, and
each entry's `balance_after` are caches of it. Any difference is reported with the ledger
account or customer account it concerns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, func, literal_column, select, union_all

from creditflow.domain.kinds import HoldStatus
from creditflow.store.tables import accounts, entries, grants, hold_allocations, holds


@dataclass(frozen=True)
class Violation:
    account: str
    problem: str

    def __str__(self) -> str:
        return f"{self.account}: {self.problem}"


def check_ledger(connection: Connection) -> list[Violation]:
    balances = _ledger_balances(connection)
    violations: list[Violation] = []
    total = sum(balances.values())
    if total != 0:
        violations.append(Violation("ledger", f"entries sum to {total}, not 0"))
    violations += _check_grants(connection, balances)
    violations += _check_accounts(connection, balances)
    violations += _check_running_balances(connection)
    violations += _check_holds(connection)
    return violations


def _ledger_balances(connection: Connection) -> dict[str, int]:
    legs = union_all(
        select(entries.c.credit_account.label("account"), entries.c.amount.label("delta")),
        select(entries.c.debit_account.label("account"), (-entries.c.amount).label("delta")),
    ).subquery()
    rows = connection.execute(
        select(legs.c.account, func.sum(legs.c.delta)).group_by(legs.c.account)
    )
    return {account: int(total) for account, total in rows}


def _check_grants(connection: Connection, balances: dict[str, int]) -> list[Violation]:
    found: list[Violation] = []
    known: set[str] = set()
    issued: dict[str, int] = defaultdict(int)
    rows = connection.execute(
        select(
            grants.c.id, grants.c.account_id, grants.c.granted, grants.c.remaining, grants.c.held
        )
    )
    for grant_id, account_id, granted, remaining, held in rows:
        known.update((f"grant:{grant_id}", f"held:{grant_id}"))
        issued[account_id] += granted
        for name, cached in ((f"grant:{grant_id}", remaining), (f"held:{grant_id}", held)):
            if balances.get(name, 0) != cached:
                found.append(
                    Violation(name, f"entries sum to {balances.get(name, 0)}, cached {cached}")
                )
    for name, balance in balances.items():
        kind, _, owner = name.partition(":")
        if kind in ("grant", "held") and name not in known:
            found.append(Violation(name, f"has entries ({balance}) but no grant"))
        elif kind == "issued" and balance != -issued.get(owner, 0):
            found.append(
                Violation(name, f"issued {-balance} credits but grants hold {issued[owner]}")
            )
        elif kind in ("spent", "expired", "revoked") and balance < 0:
            found.append(Violation(name, f"is negative ({balance})"))
    return found


def _check_accounts(connection: Connection, balances: dict[str, int]) -> list[Violation]:
    grant_sums = {
        account_id: (int(remaining), int(held))
        for account_id, remaining, held in connection.execute(
            select(
                grants.c.account_id, func.sum(grants.c.remaining), func.sum(grants.c.held)
            ).group_by(grants.c.account_id)
        )
    }
    entry_sums = {
        account_id: (int(available), int(held))
        for account_id, available, held in connection.execute(
            select(
                entries.c.account_id,
                func.sum(entries.c.available_delta),
                func.sum(entries.c.held_delta),
            ).group_by(entries.c.account_id)
        )
    }
    found: list[Violation] = []
    for account_id, available, held in connection.execute(
        select(accounts.c.id, accounts.c.available, accounts.c.held)
    ):
        for source, sums in (("grants", grant_sums), ("ledger entries", entry_sums)):
            expected = sums.get(account_id, (0, 0))
            if (available, held) != expected:
                found.append(
                    Violation(
                        account_id,
                        f"cached available/held {available}/{held}, "
                        f"but its {source} sum to {expected[0]}/{expected[1]}",
                    )
                )
    return found


def _check_running_balances(connection: Connection) -> list[Violation]:
    running = select(
        entries.c.seq,
        entries.c.account_id,
        entries.c.available_after,
        entries.c.held_after,
        func.sum(entries.c.available_delta)
        .over(partition_by=entries.c.account_id, order_by=entries.c.seq)
        .label("available_sum"),
        func.sum(entries.c.held_delta)
        .over(partition_by=entries.c.account_id, order_by=entries.c.seq)
        .label("held_sum"),
    ).subquery()
    rows = connection.execute(
        select(running.c.account_id, running.c.seq, literal_column("1"))
        .where(
            (running.c.available_after != running.c.available_sum)
            | (running.c.held_after != running.c.held_sum)
        )
        .order_by(running.c.seq)
        .limit(20)
    )
    return [
        Violation(account_id, f"entry ent_{seq} has a balance_after its history does not add to")
        for account_id, seq, _ in rows
    ]


def _check_holds(connection: Connection) -> list[Violation]:
    found: list[Violation] = []
    allocated = (
        select(
            hold_allocations.c.hold_id,
            func.sum(hold_allocations.c.credits).label("allocated"),
        )
        .group_by(hold_allocations.c.hold_id)
        .subquery()
    )
    for hold_id, account_id, credits, total in connection.execute(
        select(holds.c.id, holds.c.account_id, holds.c.credits, allocated.c.allocated)
        .select_from(holds.outerjoin(allocated, allocated.c.hold_id == holds.c.id))
        .where(func.coalesce(allocated.c.allocated, 0) != holds.c.credits)
    ):
        found.append(Violation(account_id, f"hold {hold_id} holds {credits} but took {total or 0}"))
    active = {
        grant_id: int(total)
        for grant_id, total in connection.execute(
            select(hold_allocations.c.grant_id, func.sum(hold_allocations.c.credits))
            .select_from(hold_allocations.join(holds, holds.c.id == hold_allocations.c.hold_id))
            .where(holds.c.status == HoldStatus.HELD.value)
            .group_by(hold_allocations.c.grant_id)
        )
    }
    for grant_id, held in connection.execute(select(grants.c.id, grants.c.held)):
        if active.get(grant_id, 0) != held:
            found.append(
                Violation(
                    f"held:{grant_id}",
                    f"active holds take {active.get(grant_id, 0)} but the grant holds {held}",
                )
            )
    return found
