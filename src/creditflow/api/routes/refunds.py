"""Refund requests, support decisions, disputes and incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import binary, multipart, problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import (
    DisputeClose,
    DisputeCreate,
    IncidentCreate,
    IncidentResolve,
    RefundDecision,
    RefundRequestCreate,
)
from creditflow.documents.evidence import render_evidence_pdf
from creditflow.domain.errors import InvalidRequest
from creditflow.services.views import (
    DisputeView,
    EvidenceFileView,
    IncidentView,
    Page,
    RefundRequestView,
)

router = APIRouter(prefix="/v1")

Site = Annotated[Principal, Depends(allow("service"))]
Reader = Annotated[Principal, Depends(allow("service", "support"))]
Support = Annotated[Principal, Depends(allow("support"))]
Admin = Annotated[Principal, Depends(allow())]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.post(
    "/refund-requests",
    status_code=201,
    summary="Request a refund",
    response_model=RefundRequestView,
    responses=problems({409: ["order_not_paid", "refund_request_open"]}),
)
def submit(request: Request, body: RefundRequestCreate, principal: Site, raw: RawBody) -> Response:
    """Answered at once with the policy's recommendation and its rule trace, and a due date; the
    customer is mailed."""
    key = idempotency_key(request, principal, raw)
    created = engine_of(request).submit_refund_request(
        order_id=body.order_id,
        reason=body.reason,
        description=body.description,
        evidence=[e.model_dump() for e in body.evidence] if body.evidence else None,
        job_ids=body.job_ids,
        idempotency_key=key,
    )
    return answer(created, status=201, key=key)


@router.post(
    "/evidence-files",
    status_code=201,
    summary="Upload an evidence file",
    response_model=EvidenceFileView,
    responses=problems({422: ["invalid_image", "invalid_request"]}),
    openapi_extra=multipart(
        {"file": {"type": "string", "format": "binary", "description": "An image or a PDF."}},
        ["file"],
    ),
)
async def upload_evidence(request: Request, _: Site) -> Response:
    """multipart with one `file`: an image or a PDF, judged by its bytes."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("Send the evidence as multipart/form-data with one file field.")
    try:
        form = await request.form(max_files=2, max_fields=4)
    except MultiPartException as error:
        raise InvalidRequest(f"The multipart body cannot be read: {error.message}.") from None
    try:
        files = form.getlist("file")
        if len(files) != 1 or not isinstance(files[0], UploadFile):
            raise InvalidRequest("Send exactly one file, in the field named file.", field="file")
        data = await files[0].read()
    finally:
        await form.close()
    engine = engine_of(request)
    stored = await run_in_threadpool(lambda: engine.store_evidence_file(data))
    return answer(stored, status=201)


@router.get(
    "/refund-requests", summary="List refund requests", response_model=Page[RefundRequestView]
)
def list_requests(
    request: Request,
    _: Reader,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    """Refund requests, newest first, by `status`."""
    page = engine_of(request).refund_requests(status=status, limit=limit, cursor=cursor)
    return answer(page, status=200)


@router.get(
    "/refund-requests/{request_id}",
    summary="Get a refund request",
    response_model=RefundRequestView,
)
def get_request(request: Request, request_id: str, _: Reader) -> Response:
    """The request, its recommendation and any decision."""
    return answer(engine_of(request).refund_request(request_id), status=200)


@router.post(
    "/refund-requests/{request_id}/decision",
    summary="Decide a refund request",
    response_model=RefundRequestView,
    responses=problems(
        {409: ["refund_request_decided", "order_disputed"], 502: ["provider_unavailable"]}
    ),
)
def decide(
    request: Request, request_id: str, body: RefundDecision, principal: Support, raw: RawBody
) -> Response:
    """Support's decision: an approval refunds through the order's provider and takes back what the
    order gave; credits are `replacement` grants; `deny` changes nothing. The customer is mailed."""
    key = idempotency_key(request, principal, raw)
    decided = engine_of(request).decide_refund_request(
        request_id,
        outcome=body.outcome,
        note=body.note,
        amount=body.amount,
        credits=body.credits,
        decided_by=principal.key_id,
        idempotency_key=key,
    )
    return answer(decided, status=200, key=key)


@router.post(
    "/orders/{order_id}/disputes",
    status_code=201,
    summary="Open a chargeback",
    response_model=DisputeView,
    responses=problems({409: ["order_not_paid", "dispute_open"]}),
)
def open_dispute(
    request: Request, order_id: str, body: DisputeCreate, principal: Admin, raw: RawBody
) -> Response:
    """For the `test` provider and by hand: the account is suspended and the order's remaining
    credits revoked."""
    key = idempotency_key(request, principal, raw)
    dispute = engine_of(request).open_dispute(
        order_id,
        amount=body.amount,
        reason=body.reason,
        actor=principal.key_id,
        idempotency_key=key,
    )
    return answer(dispute, status=201, key=key)


@router.get("/disputes/{dispute_id}", summary="Get a dispute", response_model=DisputeView)
def get_dispute(request: Request, dispute_id: str, _: Reader) -> Response:
    """The dispute, its fee and what it revoked."""
    return answer(engine_of(request).dispute(dispute_id), status=200)


@router.get(
    "/disputes/{dispute_id}/evidence",
    summary="Get a dispute's evidence",
    responses={
        200: {
            "description": "A JSON object.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def get_evidence(request: Request, dispute_id: str, _: Support) -> Response:
    """The customer, the order, its invoice, and every use of what it bought: for the provider's
    dispute form."""
    evidence = engine_of(request).dispute_evidence(dispute_id)
    return JSONResponse(jsonable(evidence))


@router.get(
    "/disputes/{dispute_id}/evidence.pdf",
    summary="Download a dispute's evidence",
    responses=binary("application/pdf", "The PDF."),
)
def get_evidence_pdf(request: Request, dispute_id: str, _: Support) -> Response:
    """The evidence package as a PDF."""
    evidence = jsonable(engine_of(request).dispute_evidence(dispute_id))
    pdf = render_evidence_pdf(evidence)  # type: ignore[arg-type]
    return Response(pdf, media_type="application/pdf")


@router.post(
    "/disputes/{dispute_id}/close",
    summary="Close a dispute",
    response_model=DisputeView,
    responses=problems({409: ["dispute_closed"]}),
)
def close_dispute(
    request: Request, dispute_id: str, body: DisputeClose, principal: Support, raw: RawBody
) -> Response:
    """Won: the account is reinstated and the credits given back; lost: both stay as they are."""
    key = idempotency_key(request, principal, raw)
    closed = engine_of(request).close_dispute(
        dispute_id, outcome=body.outcome, actor=principal.key_id, idempotency_key=key
    )
    return answer(closed, status=200, key=key)


@router.post("/incidents", status_code=201, summary="Record an outage", response_model=IncidentView)
def record_incident(
    request: Request, body: IncidentCreate, principal: Support, raw: RawBody
) -> Response:
    """An outage that refund rules weigh (the strict policy refunds one of 24 hours or more)."""
    key = idempotency_key(request, principal, raw)
    incident = engine_of(request).record_incident(
        started_at=body.started_at,
        ended_at=body.ended_at,
        summary=body.summary,
        actor=principal.key_id,
        idempotency_key=key,
    )
    return answer(incident, status=201, key=key)


@router.post(
    "/incidents/{incident_id}/resolve",
    summary="End an outage",
    response_model=IncidentView,
    responses=problems({409: ["incident_resolved"]}),
)
def resolve_incident(
    request: Request, incident_id: str, body: IncidentResolve, principal: Support, raw: RawBody
) -> Response:
    """When the outage ended."""
    key = idempotency_key(request, principal, raw)
    incident = engine_of(request).resolve_incident(
        incident_id, ended_at=body.ended_at, actor=principal.key_id, idempotency_key=key
    )
    return answer(incident, status=200, key=key)


@router.get("/incidents", summary="List outages", response_model=Page[IncidentView])
def list_incidents(request: Request, _: Reader) -> Response:
    """Recorded outages, which refund rules look at."""
    found = engine_of(request).incidents()
    return answer(Page[IncidentView](data=found, next_cursor=None), status=200)


def jsonable(value: object) -> object:
    return jsonable_encoder(value)
