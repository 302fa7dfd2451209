"""Rows as typed, immutable records: what repositories hand to services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditflow.domain.drawdown import GrantBalance
from creditflow.domain.kinds import Channel, GrantKind, HoldStatus


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    external_id: str
    email: str
    country: str | None
    status: str
    available: int
    held: int
    created_at: datetime
    low_balance: int | None = None
    """Its own low-balance threshold (credits.low); None: the catalog's."""
    suspension: str | None = None
    """Why it is suspended (`chargeback` or `support`); None when active."""


@dataclass(frozen=True, slots=True)
class GrantRecord:
    seq: int
    id: str
    account_id: str
    kind: GrantKind
    granted: int
    remaining: int
    held: int
    priority: int
    channel: Channel
    expires_at: datetime | None
    source_type: str
    source_id: str | None
    reason: str | None
    created_at: datetime

    def balance(self) -> GrantBalance:
        return GrantBalance(
            grant_id=self.id,
            kind=self.kind,
            remaining=self.remaining,
            priority=self.priority,
            expires_at=self.expires_at,
            channel=self.channel,
            seq=self.seq,
        )

    def expired_at(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class HoldRecord:
    id: str
    account_id: str
    status: HoldStatus
    credits: int
    captured: int
    channel: Channel | None
    reason: str | None
    reference: str | None
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    release_reason: str | None


@dataclass(frozen=True, slots=True)
class EntryRecord:
    seq: int
    transaction_id: str
    account_id: str
    type: str
    grant_id: str
    kind: str
    debit_account: str
    credit_account: str
    amount: int
    available_delta: int
    held_delta: int
    available_after: int
    held_after: int
    hold_id: str | None
    reason: str | None
    reference: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DueItem:
    seq: int
    due_at: datetime
    task: str
    subject_id: str
