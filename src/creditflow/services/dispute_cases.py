"""Chargebacks as support sees them: opened by hand for the test provider, closed, evidenced.

The evidence package is what a provider's dispute form asks for: who the customer is, what they
bought and were invoiced, and what they did with it (the ledger of the order's credits, the
jobs those credits paid for, with their times and downloads).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import Conflict, InvalidRequest, NotFound
from creditflow.services import disputes
from creditflow.services.credit_usage import order_grants, order_usage
from creditflow.services.disputes import dispute_view
from creditflow.services.views import DisputeView
from creditflow.store.refunds import DisputeRecord
from creditflow.store.uow import UnitOfWork


def open_case(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    order_id: str,
    amount: int | None,
    reason: str | None,
    actor: str,
) -> DisputeView:
    order = uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    if order.paid_at is None:
        raise Conflict(
            f"Order {order.id} is not paid; there is nothing to dispute.", code="order_not_paid"
        )
    if amount is not None and not 0 < amount <= order.total:
        raise InvalidRequest(f"amount must be from 1 to {order.total}.", field="amount")
    if any(d.status == "open" for d in uow.disputes.of_order(order.id)):
        raise Conflict(f"Order {order.id} has an open dispute already.", code="dispute_open")
    record = disputes.open_dispute(
        uow,
        catalog=catalog,
        order=order,
        provider=order.provider,
        provider_dispute_id=None,
        amount=amount,
        reason=reason,
        now=now,
    )
    uow.refund_requests.audit(
        at=now,
        actor=actor,
        action="dispute_opened",
        subject_id=record.id,
        detail={"order_id": order.id},
    )
    return dispute_view(uow, record)


def close_case(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, dispute_id: str, outcome: str, actor: str
) -> DisputeView:
    if outcome not in ("won", "lost"):
        raise InvalidRequest("outcome must be 'won' or 'lost'.", field="outcome")
    record = _require(uow, dispute_id)
    if record.status != "open":
        raise Conflict(
            f"Dispute {record.id} is closed already ({record.status}).", code="dispute_closed"
        )
    closed = disputes.close_record(uow, catalog=catalog, record=record, outcome=outcome, now=now)
    uow.refund_requests.audit(
        at=now,
        actor=actor,
        action="dispute_closed",
        subject_id=record.id,
        detail={"outcome": outcome},
    )
    return dispute_view(uow, closed)


def get_case(uow: UnitOfWork, *, dispute_id: str) -> DisputeView:
    return dispute_view(uow, _require(uow, dispute_id))


def evidence(uow: UnitOfWork, *, dispute_id: str) -> dict[str, Any]:
    record = _require(uow, dispute_id)
    order = uow.orders.get(record.order_id)
    account = uow.accounts.get(record.account_id)
    assert order is not None and account is not None
    grants = order_grants(uow, order)
    grant_ids = {g.id for g in grants}
    invoice = uow.documents.invoice_of_order(order.id)
    ledger = [
        {
            "at": e.at,
            "type": e.type,
            "credits": e.available_delta,
            "held": e.held_delta,
            "grant_id": e.grant_id,
            "reason": e.reason,
            "reference": e.reference,
        }
        for e in uow.ledger.entries_of_grants(order.account_id, sorted(grant_ids))
    ]
    paid = uow.jobs.paid_from_grants(
        order.account_id, order.paid_at or order.created_at, sorted(grant_ids)
    )
    fetched = uow.jobs.downloads_of([job.id for job in paid])
    jobs = [
        {
            "id": job.id,
            "operation": job.operation,
            "status": job.status,
            "cost": job.cost,
            "created_at": job.created_at,
            "finished_at": job.finished_at,
            "downloads": [{"n": d.n, "at": d.at, "key_id": d.key_id} for d in fetched[job.id]],
        }
        for job in paid
    ]
    usage = order_usage(uow, order)
    return {
        "dispute": dispute_view(uow, record).model_dump(mode="json"),
        "account": {
            "id": account.id,
            "external_id": account.external_id,
            "email": account.email,
            "country": account.country,
            "created_at": account.created_at,
        },
        "order": {
            "id": order.id,
            "kind": order.kind,
            "total": {"amount": order.total, "currency": order.currency},
            "paid_at": order.paid_at,
            "payments": [
                {
                    "provider_payment_id": p.provider_payment_id,
                    "amount": {"amount": p.amount, "currency": order.currency},
                    "fingerprint": p.fingerprint,
                    "at": p.created_at,
                }
                for p in uow.orders.payments(order.id)
                if p.status == "succeeded"
            ],
            "items": [
                {
                    "description": i.description,
                    "credits": i.credits,
                    "amount": {"amount": i.amount, "currency": order.currency},
                }
                for i in uow.orders.items(order.id)
            ],
        },
        "invoice": {"number": invoice.number, "issued_at": invoice.issued_at} if invoice else None,
        "usage": {
            "granted": usage.granted,
            "spent": usage.spent,
            "held": usage.held,
            "expired": usage.expired,
            "revoked": usage.revoked,
            "remaining": usage.remaining,
        },
        "ledger": ledger,
        "jobs": jobs,
    }


def _require(uow: UnitOfWork, dispute_id: str) -> DisputeRecord:
    record = uow.disputes.get(dispute_id)
    if record is None:
        raise NotFound(f"No dispute with id {dispute_id!r}.", dispute_id=dispute_id)
    return record
