"""Holds: credits reserved for a job in flight, then captured or given back (rule 5)."""

from __future__ import annotations

from datetime import datetime, timedelta

from creditflow.domain import ledger
from creditflow.domain.catalog import Catalog
from creditflow.domain.drawdown import Allocation, split_capture
from creditflow.domain.errors import HoldNotActive, InvalidRequest, NotFound
from creditflow.domain.events import EventType
from creditflow.domain.kinds import EntryType, HoldStatus
from creditflow.ids import new_id
from creditflow.services.credits import (
    allocate,
    allocation_views,
    grant_view,
    validate_channel,
    validate_credits,
)
from creditflow.services.events import emit
from creditflow.services.views import AvailableView, HoldView
from creditflow.store.records import HoldRecord
from creditflow.store.uow import UnitOfWork

RELEASE_HOLD = "release_hold"
DEFAULT_HOLD_SECONDS = 15 * 60
MAX_HOLD_SECONDS = 7 * 24 * 3600


def place_hold(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    account_id: str,
    credits: int,
    channel: str | None = None,
    reason: str | None = None,
    reference: str | None = None,
    expires_in_seconds: int | None = None,
) -> HoldView:
    validate_credits(credits)
    hold_channel = validate_channel(catalog, channel, allow_any=False)
    seconds = DEFAULT_HOLD_SECONDS if expires_in_seconds is None else expires_in_seconds
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 0 < seconds <= MAX_HOLD_SECONDS
    ):
        raise InvalidRequest(
            f"expires_in_seconds must be a whole number from 1 to {MAX_HOLD_SECONDS}.",
            field="expires_in_seconds",
        )
    account, allocations = allocate(
        uow, now=now, account_id=account_id, credits=credits, channel=hold_channel
    )
    hold_id = new_id("hld")
    expires_at = now + timedelta(seconds=seconds)
    record = uow.holds.add(
        id=hold_id,
        account_id=account.id,
        credits=credits,
        channel=hold_channel,
        reason=reason,
        reference=reference,
        expires_at=expires_at,
        allocations=allocations,
        now=now,
    )
    posted = uow.ledger.post(
        account_id=account.id,
        transaction_id=new_id("txn"),
        transfers=ledger.hold(allocations),
        hold_id=hold_id,
        reason=reason,
        reference=reference,
        now=now,
    )
    uow.due_work.schedule(task=RELEASE_HOLD, subject_id=hold_id, due_at=expires_at, now=now)
    return hold_view(record, allocations, available=posted[-1].available_after)


def capture_hold(
    uow: UnitOfWork, *, now: datetime, hold_id: str, credits: int | None = None
) -> HoldView:
    """Spend all or part of a hold; whatever is not captured goes back to its grants."""
    hold = _active_hold(uow, hold_id)
    amount = hold.credits if credits is None else credits
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= hold.credits:
        raise InvalidRequest(
            f"credits to capture must be a whole number from 0 to the {hold.credits} held.",
            field="credits",
        )
    allocations = uow.holds.allocations(hold.id)
    captured, released = split_capture(allocations, amount)
    transfers = ledger.capture(hold.account_id, captured)
    transfers += ledger.release(hold.account_id, released, _expired(uow, released, now))
    return _settle(uow, hold, allocations, transfers, HoldStatus.CAPTURED, amount, None, now)


def release_hold(
    uow: UnitOfWork, *, now: datetime, hold_id: str, release_reason: str = "released"
) -> HoldView:
    """Give every held credit back to the grant it came from (rule 5)."""
    hold = _active_hold(uow, hold_id)
    allocations = uow.holds.allocations(hold.id)
    transfers = ledger.release(hold.account_id, allocations, _expired(uow, allocations, now))
    return _settle(uow, hold, allocations, transfers, HoldStatus.RELEASED, 0, release_reason, now)


def release_timed_out_hold(uow: UnitOfWork, *, now: datetime, hold_id: str) -> None:
    """Due work: a hold nobody settled in time goes back, as if the job had failed."""
    hold = uow.holds.get(hold_id)
    if hold is None or hold.status is not HoldStatus.HELD:
        return
    release_hold(uow, now=now, hold_id=hold_id, release_reason="timeout")


def get_hold(uow: UnitOfWork, *, hold_id: str) -> HoldView:
    hold = _hold(uow, hold_id)
    return hold_view(hold, uow.holds.allocations(hold.id))


def hold_view(
    hold: HoldRecord, allocations: list[Allocation], *, available: int | None = None
) -> HoldView:
    released = hold.credits - hold.captured if hold.status is not HoldStatus.HELD else 0
    return HoldView(
        id=hold.id,
        account_id=hold.account_id,
        status=hold.status.value,
        credits=hold.credits,
        captured=hold.captured,
        released=released,
        allocations=allocation_views(allocations),
        channel=hold.channel.value if hold.channel else None,
        reason=hold.reason,
        reference=hold.reference,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        settled_at=hold.settled_at,
        release_reason=hold.release_reason,
        balance=AvailableView(available=available) if available is not None else None,
    )


def _settle(
    uow: UnitOfWork,
    hold: HoldRecord,
    allocations: list[Allocation],
    transfers: list[ledger.Transfer],
    status: HoldStatus,
    captured: int,
    release_reason: str | None,
    now: datetime,
) -> HoldView:
    # Lock the account first, in the same order as every spend, then flip the hold once.
    account = uow.accounts.get(hold.account_id, for_update=True)
    assert account is not None
    if not uow.holds.settle(
        hold.id, status=status, captured=captured, release_reason=release_reason, now=now
    ):
        raise _not_active(hold.id, "settled by another request")
    posted = uow.ledger.post(
        account_id=hold.account_id,
        transaction_id=new_id("txn"),
        transfers=transfers,
        hold_id=hold.id,
        reason=hold.reason,
        reference=hold.reference,
        now=now,
    )
    uow.due_work.cancel(task=RELEASE_HOLD, subject_id=hold.id)
    lapsed = [t.grant_id for t in transfers if t.type is EntryType.EXPIRE]
    for grant in uow.ledger.grants_by_id(lapsed).values():  # released into an expired grant
        emit(
            uow,
            EventType.CREDITS_EXPIRED,
            account_id=hold.account_id,
            obj=grant_view(grant),
            now=now,
        )
    settled = uow.holds.get(hold.id)
    assert settled is not None
    available = posted[-1].available_after if posted else account.available
    return hold_view(settled, allocations, available=available)


def _expired(uow: UnitOfWork, allocations: list[Allocation], now: datetime) -> set[str]:
    grants = uow.ledger.grants_by_id([a.grant_id for a in allocations])
    return {grant_id for grant_id, grant in grants.items() if grant.expired_at(now)}


def _hold(uow: UnitOfWork, hold_id: str) -> HoldRecord:
    hold = uow.holds.get(hold_id)
    if hold is None:
        raise NotFound(f"No hold with id {hold_id!r}.", hold_id=hold_id)
    return hold


def _active_hold(uow: UnitOfWork, hold_id: str) -> HoldRecord:
    hold = _hold(uow, hold_id)
    if hold.status is not HoldStatus.HELD:
        raise _not_active(hold.id, f"already {hold.status.value}")
    return hold


def _not_active(hold_id: str, why: str) -> HoldNotActive:
    return HoldNotActive(
        f"Hold {hold_id} is not active ({why}); only a held hold can be captured or released.",
        hold_id=hold_id,
    )
