"""Chargebacks: an open dispute suspends the account and takes back the order's credits.

Source 001: a chargeback suspends the account while the bank decides. A dispute the site wins
gives the taken credits back and lifts the suspension (unless another dispute is open or was
lost); a lost one leaves the money gone and the order refunded. Opening after closing never
reopens, so providers may deliver the two in either order.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.events import EventType
from creditflow.domain.kinds import GrantKind
from creditflow.ids import new_id
from creditflow.services.credits import grant_credits
from creditflow.services.events import emit
from creditflow.services.money_back import settle_order_status
from creditflow.services.views import DisputeView, Money
from creditflow.store.orders import OrderRecord
from creditflow.store.refunds import DisputeRecord
from creditflow.store.uow import UnitOfWork


def open_dispute(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    provider: str,
    provider_dispute_id: str | None,
    amount: int | None,
    reason: str | None,
    now: datetime,
) -> DisputeRecord:
    record, new = _find_or_add(
        uow, catalog, order, provider, provider_dispute_id, amount, reason, now
    )
    settle_order_status(uow, catalog=catalog, order_id=order.id, now=now)
    if new:
        _tell(uow, EventType.DISPUTE_OPENED, record, now)
    return _reload(uow, record.id)


def _tell(uow: UnitOfWork, event_type: EventType, record: DisputeRecord, now: datetime) -> None:
    view = dispute_view(uow, _reload(uow, record.id))
    emit(uow, event_type, account_id=record.account_id, obj=view, now=now)


def close_dispute(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    provider: str,
    provider_dispute_id: str | None,
    outcome: str,
    amount: int | None,
    now: datetime,
) -> DisputeRecord:
    """`won` or `lost`; a close that arrives before its open records both at once."""
    record, new = _find_or_add(
        uow, catalog, order, provider, provider_dispute_id, amount, None, now
    )
    if new:
        _tell(uow, EventType.DISPUTE_OPENED, record, now)
    return close_record(uow, catalog=catalog, record=record, outcome=outcome, now=now)


def close_record(
    uow: UnitOfWork, *, catalog: Catalog, record: DisputeRecord, outcome: str, now: datetime
) -> DisputeRecord:
    """Close an open dispute once; a won one gives the credits it took back."""
    closing = record.status == "open"
    if closing:
        uow.disputes.close(record.id, status=outcome, now=now)
        if outcome == "won" and record.credits_revoked:
            order = uow.orders.get(record.order_id)
            grant_credits(
                uow,
                catalog=catalog,
                now=now,
                account_id=record.account_id,
                credits=record.credits_revoked,
                kind=GrantKind.REPLACEMENT,
                reason=f"chargeback on order {record.order_id} won: credits given back",
                source_type="order",
                source_id=record.order_id,
                channel=order.channel if order else None,
            )
    settle_order_status(uow, catalog=catalog, order_id=record.order_id, now=now)
    if closing:
        _tell(uow, EventType.DISPUTE_CLOSED, record, now)
    return _reload(uow, record.id)


def _find_or_add(
    uow: UnitOfWork,
    catalog: Catalog,
    order: OrderRecord,
    provider: str,
    provider_dispute_id: str | None,
    amount: int | None,
    reason: str | None,
    now: datetime,
) -> tuple[DisputeRecord, bool]:
    """The dispute the provider names, or a new one (True)."""
    if provider_dispute_id:
        existing = uow.disputes.by_provider_ref(provider, provider_dispute_id)
        if existing is not None:
            return existing, False
    record = DisputeRecord(
        id=new_id("dsp"),
        order_id=order.id,
        account_id=order.account_id,
        provider=provider,
        provider_dispute_id=provider_dispute_id,
        amount=amount if amount is not None else order.total,
        reason=reason,
        status="open",
        created_at=now,
        closed_at=None,
        fee=catalog.minor_units(catalog.refunds.dispute_fee),
    )
    uow.disputes.add(record)
    return record, True


def _reload(uow: UnitOfWork, dispute_id: str) -> DisputeRecord:
    record = uow.disputes.get(dispute_id)
    assert record is not None
    return record


def dispute_view(uow: UnitOfWork, record: DisputeRecord) -> DisputeView:
    order = uow.orders.get(record.order_id)
    assert order is not None
    return DisputeView(
        id=record.id,
        order_id=record.order_id,
        account_id=record.account_id,
        provider=record.provider,
        status=record.status,
        amount=Money(amount=record.amount, currency=order.currency),
        fee=Money(amount=record.fee, currency=order.currency),
        credits_revoked=record.credits_revoked,
        created_at=record.created_at,
        closed_at=record.closed_at,
    )
