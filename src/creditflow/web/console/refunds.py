"""The refund queue, a request's page, and a decision: form, confirmation, then what was done.

The confirmation page is the decision rehearsed (engine.console.preview_decision): the same
code runs in a transaction that is rolled back, so what the page says will happen is what will
happen, and a decision the real thing would refuse comes back to the form with its error.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from creditflow.domain.errors import Conflict, CreditflowError, InvalidRequest, NotFound
from creditflow.domain.refunds.facts import REASONS, Outcome
from creditflow.services.console_views import RequestPage
from creditflow.services.mail import as_sent
from creditflow.web.console.forms import (
    checked_form,
    major_units,
    money_amount,
    problems,
    show,
    text,
    whole_number,
)
from creditflow.web.console.session import Agent, StaffSession, engine_of
from creditflow.web.layer import evidence_response, money, redirect

router = APIRouter()

STATUSES = (
    ("in_review", "Open (in review)"),
    ("approved", "Approved"),
    ("partially_approved", "Partially approved"),
    ("resolved_with_credits", "Resolved with credits"),
    ("denied", "Denied"),
    ("", "Any status"),
)
OUTCOMES = (
    (Outcome.APPROVE_FULL.value, "Approve in full: all that is left of the order goes back"),
    (Outcome.APPROVE_PARTIAL.value, "Approve in part: the amount below goes back"),
    (Outcome.REPLACEMENT_CREDITS.value, "Replacement credits instead of money"),
    (Outcome.FREE_RETRY.value, "A free retry: the failed job's credits given back"),
    (Outcome.DENY.value, "Deny"),
)
DONE = {"decided": "The decision is recorded and the customer has been mailed."}


@router.get("/refunds")
async def queue(
    request: Request,
    agent: Agent,
    status: str = "in_review",
    reason: str = "",
    recommended: str = "",
) -> Response:
    rows = await run_in_threadpool(
        engine_of(request).console.refund_queue,
        status=status or None,
        reason=reason or None,
        recommended=recommended or None,
    )
    return show(
        request,
        "queue.html",
        current="refunds",
        rows=rows,
        chosen=status,
        reason=reason,
        recommended=recommended,
        statuses=STATUSES,
        reasons=[("", "Any reason"), *((r, r.replace("_", " ")) for r in REASONS)],
        outcomes=[("", "Any recommendation"), *((o, o.replace("_", " ")) for o, _ in OUTCOMES)],
    )


@router.get("/refunds/{request_id}")
async def request_page(request: Request, request_id: str, agent: Agent, done: str = "") -> Response:
    page = await run_in_threadpool(engine_of(request).console.request_page, request_id)
    return _request_page(request, agent, page, done=DONE.get(done))


def _request_page(
    request: Request,
    agent: StaffSession,
    page: RequestPage,
    *,
    status: int = 200,
    done: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    recommendation = page.request.recommendation
    site_name = engine_of(request).catalog.site.name
    currency = page.order.total.currency
    prefill = {
        "outcome": recommendation.outcome,
        "amount": major_units(
            recommendation.amount.amount if recommendation.amount else None, currency
        ),
        "credits": recommendation.credits or "",
        "note": "",
    }
    return show(
        request,
        "request.html",
        current="refunds",
        status=status,
        done=done,
        p=page,
        currency=currency,
        outcomes=OUTCOMES,
        values={**prefill, **(values or {})},
        errors=errors or {},
        mails=[(m, as_sent(m, site_name=site_name)) for m in page.mail],
    )


def _decision(form: FormData, currency: str) -> dict[str, Any]:
    """The decision the form asks for, checked field by field."""
    outcome = text(form, "outcome")
    if outcome not in {o for o, _ in OUTCOMES}:
        raise InvalidRequest("Choose an outcome.", field="outcome")
    note = text(form, "note", required=True, label="A note saying why")
    if len(note) > 2000:
        raise InvalidRequest("A note may be at most 2000 characters.", field="note")
    amount = None
    if outcome == Outcome.APPROVE_PARTIAL:
        amount = money_amount(form, "amount", currency=currency, label="The amount")
        if amount == 0:
            raise InvalidRequest("A partial refund gives back more than nothing.", field="amount")
    credits = None
    if outcome in (Outcome.REPLACEMENT_CREDITS, Outcome.FREE_RETRY):
        credits = whole_number(
            form, "credits", label="Credits", optional=outcome == Outcome.FREE_RETRY
        )
    return {"outcome": outcome, "amount": amount, "credits": credits, "note": note}


def _in_words(error: CreditflowError, currency: str) -> CreditflowError:
    """An amount refused in minor units, said in money."""
    refundable = error.details.get("refundable")
    if error.details.get("field") == "amount" and isinstance(refundable, int):
        most = money({"amount": refundable, "currency": currency})
        return InvalidRequest(
            f"At most {most} can go back on this order (what was paid, less what was refunded "
            "or is being refunded).",
            field="amount",
        )
    return error


@router.post("/refunds/{request_id}/review")
async def review_decision(request: Request, request_id: str, agent: Agent) -> Response:
    form = await checked_form(request, agent)
    console = engine_of(request).console
    page = await run_in_threadpool(console.request_page, request_id)
    currency = page.order.total.currency
    values = {name: text(form, name) for name in ("outcome", "amount", "credits", "note")}
    try:
        decision = _decision(form, currency)
        effects = await run_in_threadpool(
            lambda: console.preview_decision(request_id, actor=agent.email, **decision)
        )
    except (InvalidRequest, Conflict) as refused:
        return _request_page(
            request,
            agent,
            page,
            status=409 if isinstance(refused, Conflict) else 422,
            values=values,
            errors=problems(_in_words(refused, currency)),
        )
    return show(
        request,
        "confirm_decision.html",
        current="refunds",
        p=page,
        decision=decision,
        effects=effects,
        values=values,
        outcome_label=dict(OUTCOMES)[decision["outcome"]],
    )


@router.post("/refunds/{request_id}/decide")
async def decide(request: Request, request_id: str, agent: Agent) -> Response:
    form = await checked_form(request, agent)
    engine = engine_of(request)
    page = await run_in_threadpool(engine.console.request_page, request_id)
    currency = page.order.total.currency
    values = {name: text(form, name) for name in ("outcome", "amount", "credits", "note")}
    try:
        decision = _decision(form, currency)
        form_id = text(form, "form_id", required=True, label="The form's id (reload the page)")
        await run_in_threadpool(
            lambda: engine.decide_refund_request(
                request_id,
                decided_by=agent.email,
                idempotency_key=f"console:{agent.member.id}:{form_id}",
                **decision,
            )
        )
    except (InvalidRequest, Conflict) as refused:
        page = await run_in_threadpool(engine.console.request_page, request_id)
        return _request_page(
            request,
            agent,
            page,
            status=409 if isinstance(refused, Conflict) else 422,
            values=values,
            errors=problems(_in_words(refused, currency)),
        )
    return redirect(f"/console/refunds/{request_id}?done=decided")


@router.get("/evidence/{sha256}")
async def evidence_file(request: Request, sha256: str, agent: Agent) -> Response:
    """An uploaded evidence file, shown as what its bytes are (an image, a PDF), never as HTML."""
    engine = engine_of(request)
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise InvalidRequest("That is not an evidence file's address.", field="sha256")
    try:
        data = await run_in_threadpool(engine.files.get, sha256)
    except FileNotFoundError:
        raise NotFound("No evidence file at this address.") from None
    return evidence_response(data)
