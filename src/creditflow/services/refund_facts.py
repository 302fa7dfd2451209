"""Gathering what a refund policy looks at, so the policy itself never queries.

Links between accounts (source 003's "refund history" is per person, not per login): accounts
that paid with the same card fingerprint (or provider customer), or share an email address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from creditflow.domain.refunds.facts import (
    IncidentFact,
    JobFact,
    OrderFacts,
    PaymentFact,
    RefundFacts,
    RequestFacts,
)
from creditflow.services.credit_usage import next_payment_at, order_grants, order_usage
from creditflow.services.money_back import refunded_amount
from creditflow.store.orders import OrderRecord
from creditflow.store.uow import UnitOfWork

YEAR = timedelta(days=365)


def linked_accounts(uow: UnitOfWork, account_id: str) -> set[str]:
    account = uow.accounts.get(account_id)
    linked = {account_id}
    if account is not None:
        linked |= set(uow.accounts.ids_with_email(account.email))
    linked |= uow.orders.accounts_paying_with(uow.orders.fingerprints_of(account_id))
    return linked


def gather_facts(
    uow: UnitOfWork, *, order: OrderRecord, request: RequestFacts, now: datetime
) -> RefundFacts:
    assert order.paid_at is not None
    account = uow.accounts.get(order.account_id)
    assert account is not None
    payments = [p for p in uow.orders.payments(order.id) if p.status == "succeeded"]
    grant_ids = {g.id for g in order_grants(uow, order)}
    jobs = []
    downloads_on_order = 0
    for job in uow.jobs.of_account_since(order.account_id, order.paid_at):
        paid_here = job.hold_id is not None and any(
            a.grant_id in grant_ids for a in uow.holds.allocations(job.hold_id)
        )
        downloads = len(uow.jobs.downloads(job.id))
        if paid_here:
            downloads_on_order += downloads
        jobs.append(
            JobFact(
                id=job.id,
                status=job.status,
                cost=job.cost,
                created_at=job.created_at,
                charged=job.status == "succeeded" and job.cost > 0,
                on_order=paid_here,
                downloads=downloads,
            )
        )
    return RefundFacts(
        request=request,
        order=OrderFacts(
            id=order.id,
            kind=order.kind,
            total=order.total,
            currency=order.currency,
            paid_at=order.paid_at,
            payments=tuple(PaymentFact(amount=p.amount, duplicate=p.duplicate) for p in payments),
            refunded=refunded_amount(uow.refunds.of_order(order.id)),
            service_period=_service_period(uow, order),
        ),
        usage=order_usage(uow, order),
        jobs=tuple(jobs),
        incidents=tuple(
            IncidentFact(started_at=i.started_at, ended_at=i.ended_at)
            for i in uow.refund_requests.incidents_overlapping(order.paid_at, now)
        ),
        approved_refunds_past_year=uow.refund_requests.approved_since(
            sorted(linked_accounts(uow, order.account_id)), now - YEAR
        ),
        account_suspended=account.status != "active",
        open_dispute=bool(uow.disputes.open_of_account(order.account_id)),
        country=account.country,
        now=now,
        downloads_after_use=downloads_on_order,
    )


def _service_period(uow: UnitOfWork, order: OrderRecord) -> tuple[datetime, datetime | None] | None:
    if not order.subscription_id or order.paid_at is None:
        return None
    subscription = uow.subscriptions.get(order.subscription_id)
    end = next_payment_at(uow, order) or (subscription.current_period_end if subscription else None)
    return (order.paid_at, end)
