"""Disputes with their evidence package, closed as won or lost; incidents, recorded and resolved.

Incidents are recorded in UTC (the console's zone): `datetime-local` inputs carry no zone, so the
form says so and the times are read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from creditflow.documents.evidence import render_evidence_pdf
from creditflow.domain.errors import Conflict, InvalidRequest
from creditflow.services.views import IncidentView
from creditflow.web.console.forms import checked_form, problems, show, text
from creditflow.web.console.session import Agent, engine_of
from creditflow.web.layer import money, redirect

router = APIRouter()

STATUSES = (("open", "Open"), ("closed", "Closed"), ("", "All"))
OUTCOMES = {
    "won": "Won: the bank sided with the site",
    "lost": "Lost: the bank sided with the customer",
}
DONE = {
    "closed": "The dispute is closed.",
    "recorded": "The incident is recorded.",
    "resolved": "The incident is resolved.",
}


@router.get("/disputes")
async def disputes(request: Request, agent: Agent, status: str = "open") -> Response:
    rows = await run_in_threadpool(engine_of(request).console.disputes, status=status or None)
    return show(
        request, "disputes.html", current="disputes", rows=rows, chosen=status, statuses=STATUSES
    )


async def _dispute_page(
    request: Request,
    dispute_id: str,
    *,
    status: int = 200,
    done: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    engine = engine_of(request)
    dispute = await run_in_threadpool(engine.dispute, dispute_id)
    evidence = await run_in_threadpool(engine.dispute_evidence, dispute_id)
    return show(
        request,
        "dispute.html",
        current="disputes",
        status=status,
        done=done,
        x=dispute,
        ev=evidence,
        outcomes=OUTCOMES,
        errors=errors or {},
    )


@router.get("/disputes/{dispute_id}")
async def dispute_page(request: Request, dispute_id: str, agent: Agent, done: str = "") -> Response:
    return await _dispute_page(request, dispute_id, done=DONE.get(done))


@router.get("/disputes/{dispute_id}/evidence.pdf")
async def evidence_pdf(request: Request, dispute_id: str, agent: Agent) -> Response:
    engine = engine_of(request)
    evidence = await run_in_threadpool(engine.dispute_evidence, dispute_id)
    pdf = await run_in_threadpool(render_evidence_pdf, _jsonable(evidence))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="evidence-{dispute_id}.pdf"'},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _outcome(form: FormData) -> str:
    outcome = text(form, "outcome")
    if outcome not in OUTCOMES:
        raise InvalidRequest("Choose whether the dispute was won or lost.", field="outcome")
    return outcome


@router.post("/disputes/{dispute_id}/close/review")
async def review_close(request: Request, dispute_id: str, agent: Agent) -> Response:
    form = await checked_form(request, agent)
    engine = engine_of(request)
    try:
        outcome = _outcome(form)
        dispute = await run_in_threadpool(engine.dispute, dispute_id)
        if dispute.status != "open":
            raise Conflict(
                f"Dispute {dispute.id} is closed already ({dispute.status}).", field="outcome"
            )
    except (InvalidRequest, Conflict) as refused:
        return await _dispute_page(
            request,
            dispute_id,
            status=409 if isinstance(refused, Conflict) else 422,
            errors=problems(refused),
        )
    if outcome == "won":
        lines = [
            f"Dispute {dispute.id} is closed as won: the {money(dispute.amount)} disputed "
            "stays with the site.",
            f"The {dispute.credits_revoked:,} credits taken back when it opened are given back "
            "as replacement credits."
            if dispute.credits_revoked
            else "No credits were taken back when it opened, so none are given back.",
            "The account is reinstated if this chargeback was what suspended it and no other "
            "is open or lost.",
        ]
    else:
        lines = [
            f"Dispute {dispute.id} is closed as lost: the {money(dispute.amount)} disputed "
            "stays with the customer.",
            "The account stays suspended, and the order's credits stay taken back.",
        ]
    return show(
        request,
        "confirm_dispute.html",
        current="disputes",
        x=dispute,
        outcome=outcome,
        label=OUTCOMES[outcome],
        lines=lines,
    )


@router.post("/disputes/{dispute_id}/close")
async def close(request: Request, dispute_id: str, agent: Agent) -> Response:
    form = await checked_form(request, agent)
    engine = engine_of(request)
    try:
        outcome = _outcome(form)
        form_id = text(form, "form_id", required=True, label="The form's id (reload the page)")
        await run_in_threadpool(
            lambda: engine.close_dispute(
                dispute_id,
                outcome=outcome,
                actor=agent.email,
                idempotency_key=f"console:{agent.member.id}:{form_id}",
            )
        )
    except (InvalidRequest, Conflict) as refused:
        return await _dispute_page(
            request,
            dispute_id,
            status=409 if isinstance(refused, Conflict) else 422,
            errors=problems(refused),
        )
    return redirect(f"/console/disputes/{dispute_id}?done=closed")


# Incidents


async def _incidents_page(
    request: Request,
    *,
    status: int = 200,
    done: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    rows = await run_in_threadpool(engine_of(request).incidents)
    now = engine_of(request).clock.now()
    return show(
        request,
        "incidents.html",
        current="incidents",
        status=status,
        done=done,
        rows=sorted(rows, key=lambda i: i.started_at, reverse=True),
        lengths={i.id: _length(i, now) for i in rows},
        values=values or {},
        errors=errors or {},
    )


def _length(incident: IncidentView, now: datetime) -> str:
    end = incident.ended_at or now
    minutes = int((end - incident.started_at).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return " ".join(parts) + ("" if incident.ended_at else " so far")


@router.get("/incidents")
async def incidents(request: Request, agent: Agent, done: str = "") -> Response:
    return await _incidents_page(request, done=DONE.get(done))


def _utc(form: FormData, name: str, *, label: str, optional: bool = False) -> datetime | None:
    value = text(form, name)
    if not value:
        if optional:
            return None
        raise InvalidRequest(f"{label} is required.", field=name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"{label} must be a date and time such as 2026-11-20 14:30.", field=name
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.post("/incidents")
async def record(request: Request, agent: Agent) -> Response:
    form = await checked_form(request, agent)
    engine = engine_of(request)
    values = {name: text(form, name) for name in ("started_at", "ended_at", "summary")}
    try:
        started = _utc(form, "started_at", label="The start")
        ended = _utc(form, "ended_at", label="The end", optional=True)
        summary = text(form, "summary", required=True, label="A summary")
        form_id = text(form, "form_id", required=True, label="The form's id (reload the page)")
        assert started is not None
        await run_in_threadpool(
            lambda: engine.record_incident(
                started_at=started,
                ended_at=ended,
                summary=summary,
                actor=agent.email,
                idempotency_key=f"console:{agent.member.id}:{form_id}",
            )
        )
    except (InvalidRequest, Conflict) as refused:
        return await _incidents_page(request, status=422, values=values, errors=problems(refused))
    return redirect("/console/incidents?done=recorded")


@router.post("/incidents/{incident_id}/resolve")
async def resolve(request: Request, incident_id: str, agent: Agent) -> Response:
    form = await checked_form(request, agent)
    engine = engine_of(request)
    try:
        ended = _utc(form, "ended_at", label="The end")
        form_id = text(form, "form_id", required=True, label="The form's id (reload the page)")
        assert ended is not None
        await run_in_threadpool(
            lambda: engine.resolve_incident(
                incident_id,
                ended_at=ended,
                actor=agent.email,
                idempotency_key=f"console:{agent.member.id}:{form_id}",
            )
        )
    except (InvalidRequest, Conflict) as refused:
        errors = problems(refused)
        return await _incidents_page(
            request, status=422, errors={f"{incident_id}:{k}": v for k, v in errors.items()}
        )
    return redirect("/console/incidents?done=resolved")
