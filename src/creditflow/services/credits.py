"""Granting and spending credits, reading balances and the ledger (rules 1 to 4 and 6)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from creditflow.domain import ledger
from creditflow.domain.catalog import Catalog
from creditflow.domain.drawdown import Allocation, draw_down, draw_down_order, is_spendable
from creditflow.domain.errors import AccountSuspended, InvalidRequest
from creditflow.domain.events import EventType
from creditflow.domain.kinds import MAX_CREDITS, Channel, GrantKind
from creditflow.ids import new_id
from creditflow.services.accounts import found, require_account
from creditflow.services.events import emit
from creditflow.services.views import (
    AllocationView,
    AvailableView,
    BalanceGrantView,
    BalanceView,
    GrantSource,
    GrantView,
    SpendView,
)
from creditflow.store.records import AccountRecord, GrantRecord
from creditflow.store.uow import UnitOfWork

EXPIRE_GRANT = "expire_grant"
NOTICE_EXPIRING = "notice_expiring"
EXPIRING_NOTICE = timedelta(days=3)
"""How long before a grant lapses `credits.expiring` is sent."""
SHORT_LIVED = (GrantKind.DAILY, GrantKind.MEMBER_DAILY)
"""Kinds that lapse at the next midnight by design: a notice of it would be noise."""


def validate_credits(credits: int, *, field: str = "credits") -> int:
    if isinstance(credits, bool) or not isinstance(credits, int):
        raise InvalidRequest(f"{field} must be a whole number.", field=field)
    if not 0 < credits <= MAX_CREDITS:
        raise InvalidRequest(
            f"{field} must be between 1 and {MAX_CREDITS}, not {credits}.", field=field
        )
    return credits


def validate_channel(catalog: Catalog, channel: str | None, *, allow_any: bool) -> Channel | None:
    if channel is None:
        return None
    known = ["any", *catalog.credits.channels] if allow_any else list(catalog.credits.channels)
    if channel not in known:
        raise InvalidRequest(
            f"Unknown channel {channel!r}; this site knows {', '.join(known)}.", field="channel"
        )
    return Channel(channel)


def grant_credits(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    account_id: str,
    credits: int,
    kind: GrantKind | str,
    reason: str | None,
    expires_at: datetime | None = None,
    priority: int | None = None,
    channel: str | None = None,
    source_type: str = "manual",
    source_id: str | None = None,
) -> GrantView:
    """Put credits into a new grant, with its expiry queued as due work."""
    validate_credits(credits)
    kind = _grant_kind(kind)
    grant_channel = validate_channel(catalog, channel, allow_any=True) or Channel.ANY
    if priority is not None and (isinstance(priority, bool) or not 0 <= priority <= 1_000_000):
        raise InvalidRequest("priority must be a whole number from 0 to 1000000.", field="priority")
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future.", field="expires_at")
    account = require_account(uow, account_id, for_update=True)
    grant_id = new_id("grt")
    priority = catalog.priority_of(kind) if priority is None else priority
    uow.ledger.add_grant(
        id=grant_id,
        account_id=account.id,
        kind=kind,
        credits=credits,
        priority=priority,
        channel=grant_channel,
        expires_at=expires_at,
        source_type=source_type,
        source_id=source_id,
        reason=reason,
        now=now,
    )
    uow.ledger.post(
        account_id=account.id,
        transaction_id=new_id("txn"),
        transfers=[ledger.issue(account.id, grant_id, kind, credits)],
        reason=reason,
        now=now,
    )
    if expires_at is not None:
        uow.due_work.schedule(task=EXPIRE_GRANT, subject_id=grant_id, due_at=expires_at, now=now)
        if kind not in SHORT_LIVED and expires_at - now > EXPIRING_NOTICE:
            uow.due_work.schedule(
                task=NOTICE_EXPIRING,
                subject_id=grant_id,
                due_at=expires_at - EXPIRING_NOTICE,
                now=now,
            )
    # The new grant as its row now reads (its credits all remaining), built rather than read
    # back: every renewal grants.
    view = GrantView(
        id=grant_id,
        account_id=account.id,
        kind=kind.value,
        credits=credits,
        remaining=credits,
        held=0,
        priority=priority,
        channel=grant_channel.value,
        expires_at=None if expires_at is None else expires_at.astimezone(UTC),
        source=GrantSource(type=source_type, id=source_id),
        reason=reason,
        created_at=now.astimezone(UTC),
    )
    emit(uow, EventType.CREDITS_GRANTED, account_id=account.id, obj=view, now=now)
    return view


def notice_expiring(uow: UnitOfWork, *, now: datetime, grant_id: str) -> None:
    """Due work: `credits.expiring` a few days before a grant with credits left lapses."""
    grant = uow.ledger.grant(grant_id)
    if grant is None or grant.expires_at is None or grant.remaining == 0:
        return
    if grant.expires_at - now > EXPIRING_NOTICE:  # rolled over: notice before the new end
        uow.due_work.schedule(
            task=NOTICE_EXPIRING,
            subject_id=grant.id,
            due_at=grant.expires_at - EXPIRING_NOTICE,
            now=now,
        )
        return
    emit(
        uow, EventType.CREDITS_EXPIRING, account_id=grant.account_id, obj=grant_view(grant), now=now
    )


def consume_credits(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    account_id: str,
    credits: int,
    channel: str | None = None,
    reason: str | None = None,
    reference: str | None = None,
) -> SpendView:
    """Spend credits at once, in draw-down order, all or nothing (rules 2 to 4)."""
    validate_credits(credits)
    spend_channel = validate_channel(catalog, channel, allow_any=False)
    account, allocations = allocate(
        uow, now=now, account_id=account_id, credits=credits, channel=spend_channel
    )
    transaction_id = new_id("txn")
    posted = uow.ledger.post(
        account_id=account.id,
        transaction_id=transaction_id,
        transfers=ledger.consume(account.id, allocations),
        reason=reason,
        reference=reference,
        now=now,
    )
    return SpendView(
        transaction_id=transaction_id,
        credits=credits,
        allocations=allocation_views(allocations),
        balance=AvailableView(available=posted[-1].available_after),
    )


def allocate(
    uow: UnitOfWork, *, now: datetime, account_id: str, credits: int, channel: Channel | None
) -> tuple[AccountRecord, list[Allocation]]:
    """Lock the account, expire what is due, and choose the grants that pay (rule 2)."""
    record, grants = uow.ledger.account_and_live_grants(account_id)
    account = found(record, account_id)
    if account.status != "active":
        raise AccountSuspended(
            f"Account {account_id} is suspended; it cannot spend credits.", account_id=account_id
        )
    expire_due_grants(uow, account_id=account.id, grants=grants, now=now)
    allocations = draw_down(
        [g.balance() for g in grants if not g.expired_at(now)], credits, now=now, channel=channel
    )
    return account, allocations


def expire_due_grants(
    uow: UnitOfWork, *, account_id: str, grants: list[GrantRecord], now: datetime
) -> None:
    """Expire, in this transaction, grants whose time has come but whose due work has not run.

    The due-work queue expires grants on time; doing it here as well means a spend never
    depends on how promptly the queue runs.
    """
    transfers = [
        ledger.expire(account_id, g.id, g.kind, g.remaining)
        for g in grants
        if g.expired_at(now) and g.remaining > 0
    ]
    if transfers:
        uow.ledger.post(
            account_id=account_id,
            transaction_id=new_id("txn"),
            transfers=transfers,
            reason="expired",
            now=now,
        )


def get_balance(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, account_id: str, channel: str | None
) -> BalanceView:
    """Read from the grants' cached columns: a balance read never scans the ledger."""
    read_channel = validate_channel(catalog, channel, allow_any=False)
    account = require_account(uow, account_id)
    grants = sorted(uow.ledger.live_grants(account.id), key=lambda g: draw_down_order(g.balance()))
    by_kind: dict[str, int] = defaultdict(int)
    available = 0
    listed = []
    for grant in grants:
        usable = is_spendable(grant.balance(), now=now, channel=read_channel)
        if usable:
            available += grant.remaining
            by_kind[grant.kind.value] += grant.remaining
        if usable or grant.held:
            listed.append(
                BalanceGrantView(
                    id=grant.id,
                    kind=grant.kind.value,
                    remaining=grant.remaining if usable else 0,
                    held=grant.held,
                    expires_at=grant.expires_at,
                    priority=grant.priority,
                    channel=grant.channel.value,
                    source=GrantSource(type=grant.source_type, id=grant.source_id),
                )
            )
    return BalanceView(
        account_id=account.id,
        channel=read_channel.value if read_channel else None,
        available=available,
        held=sum(g.held for g in grants),
        by_kind=dict(by_kind),
        grants=listed,
    )


def grant_view(grant: GrantRecord) -> GrantView:
    return GrantView(
        id=grant.id,
        account_id=grant.account_id,
        kind=grant.kind.value,
        credits=grant.granted,
        remaining=grant.remaining,
        held=grant.held,
        priority=grant.priority,
        channel=grant.channel.value,
        expires_at=grant.expires_at,
        source=GrantSource(type=grant.source_type, id=grant.source_id),
        reason=grant.reason,
        created_at=grant.created_at,
    )


def allocation_views(allocations: list[Allocation]) -> list[AllocationView]:
    return [
        AllocationView(grant_id=a.grant_id, kind=a.kind.value, credits=a.credits)
        for a in allocations
    ]


def _grant_kind(kind: GrantKind | str) -> GrantKind:
    try:
        return GrantKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in GrantKind)
        raise InvalidRequest(
            f"Unknown grant kind {kind!r}; the kinds are {known}.", field="kind"
        ) from None


def revoke_grants(
    uow: UnitOfWork,
    *,
    account_id: str,
    grant_ids: set[str],
    reason: str,
    reference: str | None,
    now: datetime,
) -> int:
    """Take back what is left of these grants: a `revoke` entry each; returns the credits.

    Credits already spent stay spent, and credits held for a job in flight stay held: the
    job's capture or release settles them. Nothing goes below zero.
    """
    require_account(uow, account_id, for_update=True)
    transfers = [
        ledger.revoke(account_id, g.id, g.kind, g.remaining)
        for g in uow.ledger.live_grants(account_id)
        if g.id in grant_ids and g.remaining > 0
    ]
    if transfers:
        uow.ledger.post(
            account_id=account_id,
            transaction_id=new_id("txn"),
            transfers=transfers,
            reason=reason,
            reference=reference,
            now=now,
        )
        for revoked in uow.ledger.grants_by_id([t.grant_id for t in transfers]).values():
            emit(
                uow,
                EventType.CREDITS_REVOKED,
                account_id=account_id,
                obj=grant_view(revoked),
                now=now,
            )
    return sum(t.amount for t in transfers)
