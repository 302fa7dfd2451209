"""What the support console's pages show, each read in one transaction, paged, never whole.

An account with a hundred thousand ledger entries shows one page of them; every list here is
bounded, so a page costs the same whatever the account's history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.domain.refunds.facts import REASONS, CreditUsage, Outcome
from creditflow.jobs.files import FileStore
from creditflow.services.accounts import account_view, require_account
from creditflow.services.credit_usage import order_usage
from creditflow.services.credits import get_balance, grant_view
from creditflow.services.disputes import dispute_view
from creditflow.services.events import list_events
from creditflow.services.holds import hold_view
from creditflow.services.jobs import get_job, list_downloads, list_jobs
from creditflow.services.ledger_history import list_entries
from creditflow.services.memberships import get_entitlements
from creditflow.services.orders import list_orders, order_view
from creditflow.services.refund_facts import linked_accounts
from creditflow.services.refund_requests import request_view
from creditflow.services.subscriptions import list_subscriptions
from creditflow.services.views import (
    AccountView,
    BalanceView,
    DisputeView,
    DownloadView,
    EntitlementsView,
    EventView,
    GrantView,
    HoldView,
    JobView,
    LedgerEntryView,
    OrderView,
    Page,
    RefundRequestView,
    SubscriptionView,
)
from creditflow.store.outbox import OutboxMessage
from creditflow.store.uow import UnitOfWork

LISTED = 20
"""Rows of each section an account page shows; the ledger pages on."""
AUDIT_PAGE = 50


@dataclass(frozen=True, slots=True)
class PlanChangeItem:
    subscription_id: str
    order_id: str
    change: str
    at: datetime
    undone_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountPage:
    account: AccountView
    suspension: str | None
    balance: BalanceView
    grants: list[GrantView]
    ledger: Page[LedgerEntryView]
    ledger_type: str | None
    holds: list[HoldView]
    subscriptions: list[SubscriptionView]
    plan_changes: list[PlanChangeItem]
    orders: Page[OrderView]
    invoices: dict[str, OrderPapers]
    """By order id: the numbers of its invoice and credit notes, for their PDF links."""
    jobs: Page[JobView]
    refund_requests: list[RefundRequestView]
    disputes: list[DisputeView]
    entitlements: EntitlementsView
    resources: list[dict[str, Any]]
    events: Page[EventView]


@dataclass(frozen=True, slots=True)
class OrderPapers:
    number: str
    credit_notes: list[str]


def _papers(uow: UnitOfWork, orders: list[OrderView]) -> dict[str, OrderPapers]:
    """Two reads an order (not the whole invoice view, which reads the order again)."""
    papers = {}
    for order in orders:
        invoice = uow.documents.invoice_of_order(order.id) if order.paid_at else None
        if invoice is not None:
            notes = [note.number for note in uow.documents.credit_notes_of_order(order.id)]
            papers[order.id] = OrderPapers(number=invoice.number, credit_notes=notes)
    return papers


def account_page(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    account_id: str,
    ledger_type: str | None,
    ledger_cursor: str | None,
) -> AccountPage:
    record = require_account(uow, account_id)
    orders = list_orders(uow, account_id=record.id, limit=LISTED, cursor=None)
    subscriptions = list_subscriptions(uow, account_id=record.id)
    changes = [
        PlanChangeItem(
            subscription_id=s.id,
            order_id=c.order_id,
            change=f"{c.from_plan} every {c.from_interval} → {c.to_plan} every {c.to_interval}",
            at=c.created_at,
            undone_at=c.undone_at,
        )
        for s in subscriptions
        for c in uow.plan_changes.of_subscription(s.id)
    ]
    return AccountPage(
        account=account_view(record),
        suspension=uow.accounts.suspension(record.id),
        balance=get_balance(uow, catalog=catalog, now=now, account_id=record.id, channel=None),
        grants=[grant_view(g) for g in uow.ledger.grants_page(record.id, limit=LISTED)],
        ledger=list_entries(
            uow, account_id=record.id, limit=LISTED, cursor=ledger_cursor, type=ledger_type
        ),
        ledger_type=ledger_type,
        holds=[hold_view(h, uow.holds.allocations(h.id)) for h in uow.holds.held_of(record.id)],
        subscriptions=subscriptions,
        plan_changes=changes,
        orders=orders,
        invoices=_papers(uow, orders.data),
        jobs=list_jobs(uow, account_id=record.id, limit=LISTED, cursor=None),
        refund_requests=[
            request_view(uow, r) for r in uow.refund_requests.of_account(record.id)[:LISTED]
        ],
        disputes=[dispute_view(uow, d) for d in uow.disputes.of_account(record.id)],
        entitlements=get_entitlements(uow, catalog=catalog, now=now, account_id=record.id),
        resources=uow.memberships.resources_of(record.id),
        events=list_events(uow, type=None, account_id=record.id, limit=LISTED, cursor=None),
    )


def search_accounts(uow: UnitOfWork, *, query: str) -> list[AccountView]:
    """By id, by the site's external id, or by email (exactly, any case)."""
    query = query.strip()
    if not query:
        return []
    found: dict[str, AccountView] = {}
    by_id = uow.accounts.get(query)
    if by_id is not None:
        found[by_id.id] = account_view(by_id)
    by_external = uow.accounts.find_by_external_id(query)
    if by_external is not None:
        found[by_external.id] = account_view(by_external)
    for account_id in uow.accounts.ids_with_email(query)[:LISTED]:
        found[account_id] = account_view(require_account(uow, account_id))
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str
    ref: str
    sha256: str | None
    """Of an uploaded file, shown or linked; None for a reference (an email id, a URL)."""
    content_type: str | None


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    account: AccountView
    refunds: list[RefundRequestView]


@dataclass(frozen=True, slots=True)
class RequestPage:
    request: RefundRequestView
    order: OrderView
    usage: CreditUsage
    jobs: list[tuple[JobView, list[DownloadView]]]
    evidence: list[Evidence]
    linked: list[LinkedAccount]
    audit: list[dict[str, Any]]
    mail: list[OutboxMessage]


def request_page(uow: UnitOfWork, *, files: FileStore, request_id: str) -> RequestPage:
    record = uow.refund_requests.get(request_id)
    if record is None:
        raise NotFound(f"No refund request with id {request_id!r}.", request_id=request_id)
    order = uow.orders.get(record.order_id)
    assert order is not None
    request = request_view(uow, record)
    linked = sorted(linked_accounts(uow, record.account_id) - {record.account_id})
    return RequestPage(
        request=request,
        order=order_view(uow, order.id),
        usage=order_usage(uow, order),
        jobs=[
            (get_job(uow, job_id=job_id), list_downloads(uow, job_id=job_id))
            for job_id in request.job_ids
        ],
        evidence=[_evidence(files, item.kind, item.ref) for item in request.evidence],
        linked=[
            LinkedAccount(
                account=account_view(require_account(uow, other)),
                refunds=[
                    request_view(uow, r)
                    for r in uow.refund_requests.of_account(other)
                    if r.status != "in_review"
                ],
            )
            for other in linked[:LISTED]
        ],
        audit=uow.refund_requests.audit_of(record.id),
        mail=[
            m
            for m in uow.outbox.list(record.account_id)
            if m.template.startswith("refund_") and record.id in m.context
        ],
    )


def _evidence(files: FileStore, kind: str, ref: str) -> Evidence:
    if not ref.startswith("file:"):
        return Evidence(kind, ref, None, None)
    sha256 = ref.removeprefix("file:")
    try:
        head = files.get(sha256)[:8]
    except FileNotFoundError:
        return Evidence(kind, ref, None, None)
    return Evidence(kind, ref, sha256, "application/pdf" if head.startswith(b"%PDF") else "image")


def refund_queue(
    uow: UnitOfWork, *, status: str | None, reason: str | None, recommended: str | None
) -> list[RefundRequestView]:
    if reason is not None and reason not in REASONS:
        raise InvalidRequest(f"Unknown reason {reason!r}.", field="reason")
    outcomes = {o.value for o in Outcome}
    if recommended is not None and recommended not in outcomes:
        raise InvalidRequest(f"Unknown outcome {recommended!r}.", field="recommended")
    rows = uow.refund_requests.queue(status=status, reason=reason, limit=200)
    if recommended is not None:
        rows = [r for r in rows if json.loads(r.recommendation)["outcome"] == recommended]
    return [request_view(uow, r) for r in rows]


def disputes_list(uow: UnitOfWork, *, status: str | None) -> list[DisputeView]:
    if status not in (None, "open", "closed"):
        raise InvalidRequest("status must be open or closed.", field="status")
    return [dispute_view(uow, d) for d in uow.disputes.listed(status=status, limit=200)]


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[dict[str, Any]]
    before: int | None
    """Where the next (older) page starts, if there is one."""
    actions: list[str]
    """Every action the log holds, for the filter."""


def audit_log(
    uow: UnitOfWork, *, actor: str | None, action: str | None, before: int | None
) -> AuditPage:
    rows = uow.refund_requests.audit_page(
        actor=actor or None, action=action or None, before_seq=before, limit=AUDIT_PAGE + 1
    )
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    return AuditPage(
        rows=[row for _, row in rows],
        before=rows[-1][0] if more else None,
        actions=uow.refund_requests.audit_actions(),
    )
