"""Refund requests: assessed at once against the site's written policy, decided by support.

The recommendation is computed when the request arrives, from facts gathered here, and kept
with its rule trace; it never moves money. Support's decision does: an approval refunds through
the order's provider, takes back what the order's credits still hold, and ends a subscription
order's plan at once; replacement credits and free retries are `replacement` grants. Every
request and decision is mailed and audited.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from creditflow.domain.catalog import Catalog
from creditflow.domain.documents import format_money
from creditflow.domain.errors import Conflict, InvalidRequest, NotFound
from creditflow.domain.events import EventType
from creditflow.domain.kinds import MAX_CREDITS, GrantKind
from creditflow.domain.refunds import due_by, recommend
from creditflow.domain.refunds.facts import EVIDENCE_KINDS, REASONS, Outcome, RequestFacts
from creditflow.ids import new_id
from creditflow.jobs.files import FileStore
from creditflow.services.credits import grant_credits
from creditflow.services.events import emit
from creditflow.services.mail import enqueue_mail
from creditflow.services.money_back import start_refund, take_back_order
from creditflow.services.pagination import check_limit, decode_int_cursor, page_of
from creditflow.services.refund_facts import gather_facts
from creditflow.services.views import (
    DecisionView,
    EvidenceItem,
    Money,
    Page,
    RecommendationView,
    RefundRequestView,
    RuleView,
)
from creditflow.store.refund_requests import OpenRequestExists, RefundRequestRecord
from creditflow.store.uow import UnitOfWork

REFUND_OVERDUE = "refund_overdue"
STATUS_OF = {
    Outcome.APPROVE_FULL: "approved",
    Outcome.APPROVE_PARTIAL: "partially_approved",
    Outcome.REPLACEMENT_CREDITS: "resolved_with_credits",
    Outcome.FREE_RETRY: "resolved_with_credits",
    Outcome.DENY: "denied",
}


def submit_request(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    order_id: str,
    reason: str,
    description: str | None = None,
    evidence: list[dict[str, str]] | None = None,
    job_ids: list[str] | None = None,
    files: FileStore | None = None,
) -> RefundRequestView:
    if reason not in REASONS:
        raise InvalidRequest(
            f"Unknown reason {reason!r}; the reasons are {', '.join(REASONS)}.", field="reason"
        )
    items = _evidence(evidence or [])
    if files is not None:
        _check_files(files, items)
    order = uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    if order.paid_at is None:
        raise Conflict(
            f"Order {order.id} is {order.status}: only a paid order can be refunded.",
            code="order_not_paid",
        )
    jobs = _jobs(uow, order.account_id, job_ids or [])
    open_request = uow.refund_requests.open_for_order(order.id)
    if open_request is not None:
        raise _open_exists(order.id, open_request.id)
    facts = gather_facts(
        uow,
        order=order,
        request=RequestFacts(
            reason=reason,
            description=description,
            evidence_kinds=tuple(item["kind"] for item in items),
            job_ids=tuple(jobs),
            submitted_at=now,
        ),
        now=now,
    )
    recommendation = recommend(facts, catalog.refunds)
    record = RefundRequestRecord(
        id=new_id("rfd"),
        order_id=order.id,
        account_id=order.account_id,
        reason=reason,
        description=description,
        evidence=json.dumps(items),
        job_ids=json.dumps(jobs),
        status="in_review",
        recommendation=json.dumps(
            {
                "outcome": recommendation.outcome.value,
                "amount": recommendation.amount,
                "credits": recommendation.credits,
                "rules": [asdict(r) for r in recommendation.rules],
            }
        ),
        due_by=due_by(now, catalog.refunds.review_business_days[1]),
        overdue=False,
        created_at=now,
        decision=None,
        decided_by=None,
        decided_at=None,
        refund_id=None,
    )
    try:
        uow.refund_requests.add(record)
    except OpenRequestExists:  # a concurrent request won the race
        raise _open_exists(order.id, None) from None
    uow.refund_requests.audit(
        at=now,
        actor="customer",
        action="refund_requested",
        subject_id=record.id,
        detail={"order_id": order.id, "reason": reason, "recommendation": recommendation.outcome},
    )
    uow.due_work.schedule(task=REFUND_OVERDUE, subject_id=record.id, due_at=record.due_by, now=now)
    _mail(
        uow,
        record,
        "refund_request_received",
        {
            "request_id": record.id,
            "order_id": order.id,
            "due_by": record.due_by.strftime("%Y-%m-%d"),
        },
        now,
    )
    view = request_view(uow, record)
    emit(uow, EventType.REFUND_REQUEST_CREATED, account_id=record.account_id, obj=view, now=now)
    return view


def decide_request(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    request_id: str,
    outcome: str,
    note: str,
    decided_by: str,
    amount: int | None = None,
    credits: int | None = None,
) -> RefundRequestView:
    """Record support's decision and do what it says; an approval's refund is started here
    (recorded `pending` with its provider call), and asked for after the commit."""
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise InvalidRequest(
            f"Unknown outcome {outcome!r}; the outcomes are {', '.join(o.value for o in Outcome)}.",
            field="outcome",
        ) from None
    if not note.strip():
        raise InvalidRequest("A decision needs a note saying why.", field="note")
    record = uow.refund_requests.get(request_id, for_update=True)
    if record is None:
        raise NotFound(f"No refund request with id {request_id!r}.", request_id=request_id)
    if record.status != "in_review":
        raise Conflict(
            f"Refund request {record.id} is decided already ({record.status}).",
            code="refund_request_decided",
        )
    order = uow.orders.get(record.order_id, for_update=True)
    assert order is not None
    recommended = json.loads(record.recommendation)
    refund = None
    if chosen in (Outcome.APPROVE_FULL, Outcome.APPROVE_PARTIAL):
        if chosen is Outcome.APPROVE_PARTIAL and amount is None:
            raise InvalidRequest("approve_partial needs an amount.", field="amount")
        if amount is None and recommended["outcome"] == "approve_full":
            amount = recommended.get("amount")
        duplicate_only = recommended["outcome"] == "approve_full" and any(
            r["rule"] == "duplicate_charge" and r["passed"] for r in recommended["rules"]
        )
        refund = start_refund(
            uow, order_id=order.id, amount=amount, reason=f"refund request {record.id}", now=now
        )
        amount = refund.amount
        if not duplicate_only:  # giving back a duplicate charge keeps what was bought
            take_back_order(
                uow, order, catalog=catalog, reason=f"refund request {record.id}", now=now
            )
    elif chosen in (Outcome.REPLACEMENT_CREDITS, Outcome.FREE_RETRY):
        credits = _credits_to_give(uow, chosen, record, credits, recommended)
        grant_credits(
            uow,
            catalog=catalog,
            now=now,
            account_id=record.account_id,
            credits=credits,
            kind=GrantKind.REPLACEMENT,
            reason=f"{chosen.value} for refund request {record.id}",
            source_type="refund_request",
            source_id=record.id,
        )
    decided = record.evolve(
        status=STATUS_OF[chosen],
        decision=json.dumps(
            {"outcome": chosen.value, "amount": amount, "credits": credits, "note": note}
        ),
        decided_by=decided_by,
        decided_at=now,
        refund_id=refund.id if refund else None,
    )
    uow.refund_requests.save(decided)
    uow.due_work.cancel(task=REFUND_OVERDUE, subject_id=record.id)
    uow.refund_requests.audit(
        at=now,
        actor=decided_by,
        action="refund_decided",
        subject_id=record.id,
        detail={
            "outcome": chosen.value,
            "amount": amount,
            "credits": credits,
            "note": note,
            "recommended": recommended["outcome"],
        },
    )
    _mail(
        uow,
        record,
        "refund_decided",
        {
            "request_id": record.id,
            "outcome": chosen.value,
            "amount": format_money(amount, order.currency, catalog.currency_exponent)
            if amount is not None
            else None,
            "credits": credits,
            "reason": note,
        },
        now,
    )
    view = request_view(uow, decided)
    emit(uow, EventType.REFUND_REQUEST_DECIDED, account_id=record.account_id, obj=view, now=now)
    return view


def flag_overdue(uow: UnitOfWork, *, now: datetime, request_id: str) -> None:
    """Due work: a request still undecided at its due date is flagged for support."""
    record = uow.refund_requests.get(request_id, for_update=True)
    if record is not None and record.status == "in_review" and not record.overdue:
        uow.refund_requests.save(record.evolve(overdue=True))


def get_request(uow: UnitOfWork, *, request_id: str) -> RefundRequestView:
    record = uow.refund_requests.get(request_id)
    if record is None:
        raise NotFound(f"No refund request with id {request_id!r}.", request_id=request_id)
    return request_view(uow, record)


def list_requests(
    uow: UnitOfWork, *, status: str | None, limit: int | None, cursor: str | None
) -> Page[RefundRequestView]:
    known = ("in_review", *dict.fromkeys(STATUS_OF.values()))
    if status is not None and status not in known:
        raise InvalidRequest(f"status must be one of {', '.join(known)}.", field="status")
    size = check_limit(limit)
    rows = uow.refund_requests.page(
        status=status, before_seq=decode_int_cursor(cursor, "refund_requests"), limit=size + 1
    )
    return page_of(
        rows, size=size, kind="refund_requests", view=lambda record: request_view(uow, record)
    )


def request_view(uow: UnitOfWork, record: RefundRequestRecord) -> RefundRequestView:
    recommended = json.loads(record.recommendation)
    decision = json.loads(record.decision) if record.decision else None
    order = uow.orders.get(record.order_id)
    assert order is not None

    def money(amount: int | None) -> Money | None:
        return None if amount is None else Money(amount=amount, currency=order.currency)

    if decision is not None:
        decision["amount"] = money(decision.get("amount"))
    return RefundRequestView(
        id=record.id,
        order_id=record.order_id,
        account_id=record.account_id,
        status=record.status,
        reason=record.reason,
        description=record.description,
        evidence=[EvidenceItem(**item) for item in json.loads(record.evidence)],
        job_ids=json.loads(record.job_ids),
        due_by=record.due_by,
        overdue=record.overdue,
        recommendation=RecommendationView(
            outcome=recommended["outcome"],
            amount=money(recommended.get("amount")),
            credits=recommended.get("credits"),
            rules=[RuleView(**rule) for rule in recommended["rules"]],
        ),
        decision=DecisionView(
            **decision, decided_by=record.decided_by or "", decided_at=record.decided_at
        )
        if decision and record.decided_at
        else None,
        refund_id=record.refund_id,
        created_at=record.created_at,
    )


def _evidence(evidence: list[dict[str, str]]) -> list[dict[str, str]]:
    items = []
    for n, item in enumerate(evidence):
        if not isinstance(item, dict) or set(item) != {"kind", "ref"}:
            raise InvalidRequest(
                f"evidence.{n} must be an object with kind and ref.", field=f"evidence.{n}"
            )
        if item["kind"] not in EVIDENCE_KINDS:
            raise InvalidRequest(
                f"evidence.{n}.kind {item['kind']!r} is unknown; the kinds are "
                f"{', '.join(EVIDENCE_KINDS)}.",
                field=f"evidence.{n}.kind",
            )
        items.append({"kind": item["kind"], "ref": str(item["ref"])[:1000]})
    return items


def _check_files(files: FileStore, items: list[dict[str, str]]) -> None:
    """A `file:` reference must name an evidence file that was uploaded."""
    for n, item in enumerate(items):
        if item["ref"].startswith("file:"):
            try:
                files.get(item["ref"].removeprefix("file:"))
            except FileNotFoundError:
                raise InvalidRequest(
                    f"evidence.{n}.ref names no uploaded file; upload it to /v1/evidence-files "
                    "first.",
                    field=f"evidence.{n}.ref",
                ) from None


def _jobs(uow: UnitOfWork, account_id: str, job_ids: list[str]) -> list[str]:
    for job_id in job_ids:
        job = uow.jobs.get(job_id)
        if job is None or job.account_id != account_id:
            raise InvalidRequest(
                f"Job {job_id!r} is not a job of this order's account.", field="job_ids"
            )
    return list(dict.fromkeys(job_ids))


def _credits_to_give(
    uow: UnitOfWork,
    chosen: Outcome,
    record: RefundRequestRecord,
    credits: int | None,
    recommended: dict[str, Any],
) -> int:
    if credits is None and chosen is Outcome.FREE_RETRY:
        named = json.loads(record.job_ids)
        job = uow.jobs.get(named[0]) if named else None
        credits = job.cost if job else None
    if credits is None:
        credits = recommended.get("credits")
    if credits is None or isinstance(credits, bool) or not 0 < credits <= MAX_CREDITS:
        raise InvalidRequest(
            f"{chosen.value} needs credits, a whole number from 1 to {MAX_CREDITS}"
            + (" (or a named job to retry)" if chosen is Outcome.FREE_RETRY else "")
            + ".",
            field="credits",
        )
    return int(credits)


def _open_exists(order_id: str, request_id: str | None) -> Conflict:
    return Conflict(
        f"Order {order_id} already has a refund request in review"
        + (f" ({request_id})" if request_id else "")
        + ".",
        code="refund_request_open",
        request_id=request_id,
    )


def _mail(
    uow: UnitOfWork,
    record: RefundRequestRecord,
    template: str,
    context: dict[str, Any],
    now: datetime,
) -> None:
    account = uow.accounts.get(record.account_id)
    if account is not None:
        enqueue_mail(
            uow,
            now=now,
            to=account.email,
            template=template,
            account_id=account.id,
            context=context,
        )
