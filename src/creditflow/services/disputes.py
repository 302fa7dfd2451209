"""Chargebacks: an open dispute suspends the account and takes back the order's credits.

Source 001: a chargeback suspends the account while the bank decides. A dispute the site wins
gives the taken credits back and lifts the suspension (unless another dispute is open or was
lost); a lost one leaves the money gone and the order refunded. Opening after closing never
reopens, so providers may deliver the two in either order.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.kinds import GrantKind
from creditflow.ids import new_id
from creditflow.services.credits import grant_credits
from creditflow.services.money_back import settle_order_status
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
    record = _find_or_add(uow, catalog, order, provider, provider_dispute_id, amount, reason, now)
    settle_order_status(uow, catalog=catalog, order_id=order.id, now=now)
    return _reload(uow, record.id)


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
    record = _find_or_add(uow, catalog, order, provider, provider_dispute_id, amount, None, now)
    return close_record(uow, catalog=catalog, record=record, outcome=outcome, now=now)


def close_record(
    uow: UnitOfWork, *, catalog: Catalog, record: DisputeRecord, outcome: str, now: datetime
) -> DisputeRecord:
    """Close an open dispute once; a won one gives the credits it took back."""
    if record.status == "open":
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
) -> DisputeRecord:
    if provider_dispute_id:
        existing = uow.disputes.by_provider_ref(provider, provider_dispute_id)
        if existing is not None:
            return existing
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
    return record


def _reload(uow: UnitOfWork, dispute_id: str) -> DisputeRecord:
    record = uow.disputes.get(dispute_id)
    assert record is not None
    return record
