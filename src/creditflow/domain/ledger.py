"""Double-entry bookkeeping of credits.

Every movement is a transfer of a positive amount from one ledger account to another, so the
ledger as a whole always sums to zero. Each grant is two ledger accounts (`grant:` for credits
free to spend, `held:` for credits reserved by holds); each customer account has four system
accounts that credits come from or go to (`issued`, `spent`, `expired`, `revoked`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from creditflow.domain.drawdown import Allocation
from creditflow.domain.kinds import EntryType, GrantKind


def grant_account(grant_id: str) -> str:
    return f"grant:{grant_id}"


def held_account(grant_id: str) -> str:
    return f"held:{grant_id}"


def system_account(name: str, account_id: str) -> str:
    """`issued`, `spent`, `expired` or `revoked`, per customer account."""
    return f"{name}:{account_id}"


@dataclass(frozen=True, slots=True)
class Transfer:
    """One ledger entry: `amount` credits from `debit` to `credit`, on behalf of one grant."""

    type: EntryType
    grant_id: str
    kind: GrantKind
    debit: str
    credit: str
    amount: int

    remaining_delta: int = field(init=False, compare=False)
    """Change to the grant's credits free to spend: the customer's `available`."""
    held_delta: int = field(init=False, compare=False)
    """Change to the grant's held credits: the customer's `held`."""

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a transfer moves a positive amount, not {self.amount}")
        if self.debit == self.credit:
            raise ValueError(f"a transfer needs two accounts, got {self.debit} twice")
        # Computed once: the ledger reads them several times per entry on the spend path.
        object.__setattr__(self, "remaining_delta", self.delta(grant_account(self.grant_id)))
        object.__setattr__(self, "held_delta", self.delta(held_account(self.grant_id)))

    def delta(self, ledger_account: str) -> int:
        """How this transfer changes the balance of `ledger_account`."""
        if ledger_account == self.credit:
            return self.amount
        if ledger_account == self.debit:
            return -self.amount
        return 0


def issue(account_id: str, grant_id: str, kind: GrantKind, credits: int) -> Transfer:
    return Transfer(
        EntryType.GRANT,
        grant_id,
        kind,
        system_account("issued", account_id),
        grant_account(grant_id),
        credits,
    )


def consume(account_id: str, allocations: Iterable[Allocation]) -> list[Transfer]:
    return [
        Transfer(
            EntryType.CONSUME,
            a.grant_id,
            a.kind,
            grant_account(a.grant_id),
            system_account("spent", account_id),
            a.credits,
        )
        for a in allocations
    ]


def hold(allocations: Iterable[Allocation]) -> list[Transfer]:
    return [
        Transfer(
            EntryType.HOLD,
            a.grant_id,
            a.kind,
            grant_account(a.grant_id),
            held_account(a.grant_id),
            a.credits,
        )
        for a in allocations
    ]


def capture(account_id: str, allocations: Iterable[Allocation]) -> list[Transfer]:
    return [
        Transfer(
            EntryType.CAPTURE,
            a.grant_id,
            a.kind,
            held_account(a.grant_id),
            system_account("spent", account_id),
            a.credits,
        )
        for a in allocations
    ]


def release(
    account_id: str, allocations: Iterable[Allocation], expired_grant_ids: set[str]
) -> list[Transfer]:
    """Held credits go back to their grants; a grant that expired meanwhile loses them (rule 5)."""
    transfers: list[Transfer] = []
    for a in allocations:
        transfers.append(
            Transfer(
                EntryType.RELEASE,
                a.grant_id,
                a.kind,
                held_account(a.grant_id),
                grant_account(a.grant_id),
                a.credits,
            )
        )
        if a.grant_id in expired_grant_ids:
            transfers.append(expire(account_id, a.grant_id, a.kind, a.credits))
    return transfers


def expire(account_id: str, grant_id: str, kind: GrantKind, credits: int) -> Transfer:
    return Transfer(
        EntryType.EXPIRE,
        grant_id,
        kind,
        grant_account(grant_id),
        system_account("expired", account_id),
        credits,
    )


def revoke(account_id: str, grant_id: str, kind: GrantKind, credits: int) -> Transfer:
    return Transfer(
        EntryType.REVOKE,
        grant_id,
        kind,
        grant_account(grant_id),
        system_account("revoked", account_id),
        credits,
    )
