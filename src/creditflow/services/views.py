"""What use cases answer: the API's response bodies, and the Python API's return values.

They are pydantic models so that an idempotent replay can store one as JSON and give back the
very same bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class View(BaseModel):
    """Times serialize as RFC 3339 in UTC with a `Z`, as pydantic writes aware UTC datetimes."""

    model_config = ConfigDict(frozen=True)


class AccountView(View):
    id: str
    external_id: str
    email: str
    country: str | None
    status: str
    created_at: datetime


class GrantSource(View):
    type: str
    id: str | None


class GrantView(View):
    id: str
    account_id: str
    kind: str
    credits: int
    remaining: int
    held: int
    priority: int
    channel: str
    expires_at: datetime | None
    source: GrantSource
    reason: str | None
    created_at: datetime


class AllocationView(View):
    grant_id: str
    kind: str
    credits: int


class AvailableView(View):
    available: int


class SpendView(View):
    transaction_id: str
    credits: int
    allocations: list[AllocationView]
    balance: AvailableView


class BalanceGrantView(View):
    id: str
    kind: str
    remaining: int
    held: int
    expires_at: datetime | None
    priority: int
    channel: str
    source: GrantSource


class BalanceView(View):
    account_id: str
    channel: str | None
    available: int
    held: int
    by_kind: dict[str, int]
    grants: list[BalanceGrantView]


class HoldView(View):
    id: str
    account_id: str
    status: str
    credits: int
    captured: int
    released: int
    allocations: list[AllocationView]
    channel: str | None
    reason: str | None
    reference: str | None
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    release_reason: str | None
    balance: AvailableView | None = None


class LedgerEntryView(View):
    id: str
    transaction_id: str
    at: datetime
    type: str
    credits: int
    """Signed change to the account's available credits; they sum to `available`."""
    held: int
    """Signed change to the account's held credits; they sum to `held`."""
    grant_id: str
    kind: str
    hold_id: str | None
    reason: str | None
    reference: str | None
    balance_after: int
    held_after: int


class Page(View, Generic[T]):
    data: list[T]
    next_cursor: str | None


class ClockView(View):
    now: datetime
    processed: int | None = None


class ApiKeyView(View):
    id: str
    role: str
    secret: str
    label: str | None
