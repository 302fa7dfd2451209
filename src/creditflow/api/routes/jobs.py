"""Jobs: the site's backend creates them (multipart), workers claim and finish them."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import binary, multipart, problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import JobClaim, JobCompletion, JobFailure
from creditflow.domain.errors import InvalidRequest
from creditflow.services.idempotency import IdempotencyKey
from creditflow.services.jobs import JobOutput, validate_params
from creditflow.services.views import DownloadView, JobView, Page

router = APIRouter(prefix="/v1")

Site = Annotated[Principal, Depends(allow("service"))]
Reader = Annotated[Principal, Depends(allow("service", "support"))]
AnyReader = Annotated[Principal, Depends(allow("service", "support", "worker"))]
Worker = Annotated[Principal, Depends(allow("worker"))]
RawBody = Annotated[bytes, Depends(raw_body)]
FORM_FIELDS = ("operation", "params", "image", "channel")


@router.post(
    "/accounts/{account_id}/jobs",
    status_code=201,
    summary="Start an image job",
    response_model=JobView,
    openapi_extra=multipart(
        {
            "operation": {"type": "string", "description": "An operation of the catalog."},
            "params": {
                "type": "string",
                "description": 'JSON text, e.g. {"loras": ["…"]} for a generation.',
            },
            "image": {"type": "string", "format": "binary", "description": "The input image."},
            "channel": {"type": "string", "enum": ["web", "app"]},
        },
        ["operation", "image"],
    ),
    responses=problems(
        {
            402: ["insufficient_credits"],
            403: ["entitlement_exceeded", "account_suspended"],
            422: ["invalid_image", "invalid_request"],
        }
    ),
)
async def create_job(request: Request, account_id: str, principal: Site) -> Response:
    """multipart: `operation`, `params` (JSON text) and one `image`. The image is judged from its
    bytes, the job priced from the catalog, and its cost held; a refused job holds nothing."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidRequest(
            "Send a job as multipart/form-data with the fields operation, params and image.",
            content_type=content_type,
        )
    try:
        form = await request.form(max_files=4, max_fields=16)
    except MultiPartException as error:
        raise InvalidRequest(f"The multipart body cannot be read: {error.message}.") from None
    try:
        unknown = sorted(set(form.keys()) - set(FORM_FIELDS))
        if unknown:
            raise InvalidRequest(
                f"Unknown form field(s) {', '.join(unknown)}; a job takes "
                f"{', '.join(FORM_FIELDS)}.",
                field=unknown[0],
            )
        operation = _text(form.getlist("operation"), "operation", required=True)
        params = validate_params(_text(form.getlist("params"), "params"))
        channel = _text(form.getlist("channel"), "channel")
        images = form.getlist("image")
        if not images:
            raise InvalidRequest("The image file is missing.", field="image")
        if len(images) > 1:
            raise InvalidRequest("Send exactly one image; this request has more.", field="image")
        [upload] = images
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("image must be a file, not a text field.", field="image")
        image = await upload.read()
    finally:
        await form.close()
    key = _multipart_key(request, principal, operation, params, channel, image)
    engine = engine_of(request)
    job = await run_in_threadpool(
        lambda: engine.create_job(
            account_id,
            operation=operation or "",
            image=image,
            params=params,
            channel=channel,
            idempotency_key=key,
        )
    )
    return answer(job, status=201, key=key)


@router.get(
    "/accounts/{account_id}/jobs", summary="List an account's jobs", response_model=Page[JobView]
)
def list_jobs(
    request: Request,
    account_id: str,
    _: Reader,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    """The account's jobs, newest first."""
    return answer(engine_of(request).jobs(account_id, limit=limit, cursor=cursor), status=200)


@router.post(
    "/jobs/claim",
    summary="Claim the next job",
    response_model=JobView,
    responses={204: {"description": "No job is waiting."}},
)
def claim_job(request: Request, principal: Worker, body: JobClaim | None = None) -> Response:
    """For workers: the oldest queued job (of these operations), now running; 204 when none is
    waiting."""
    operations = body.operations if body is not None else None
    job = engine_of(request).claim_job(worker=principal.key_id, operations=operations)
    if job is None:
        return Response(status_code=204)
    return answer(job, status=200)


@router.get("/jobs/{job_id}", summary="Get a job", response_model=JobView)
def get_job(request: Request, job_id: str, _: AnyReader) -> Response:
    """A job, its status, cost and outputs."""
    return answer(engine_of(request).job(job_id), status=200)


@router.get(
    "/jobs/{job_id}/input",
    summary="Download a job's input",
    responses=binary("image/*", "The input image."),
)
def get_input(request: Request, job_id: str, _: Worker) -> Response:
    """For workers: the job's input image."""
    content_type, data = engine_of(request).job_input(job_id)
    return Response(data, media_type=content_type)


@router.post(
    "/jobs/{job_id}/complete",
    summary="Complete a job",
    response_model=JobView,
    responses=problems({409: ["job_finished", "job_not_claimed"]}),
)
def complete_job(
    request: Request, job_id: str, body: JobCompletion, principal: Worker, raw: RawBody
) -> Response:
    """For workers: the outputs, base64; the hold is captured."""
    key = idempotency_key(request, principal, raw)
    outputs = []
    for n, output in enumerate(body.outputs):
        try:
            data = base64.b64decode(output.data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(
                f"outputs.{n}.data is not valid base64.", field=f"outputs.{n}.data"
            ) from None
        outputs.append(JobOutput(data=data, content_type=output.content_type, name=output.name))
    job = engine_of(request).complete_job(job_id, outputs=outputs, idempotency_key=key)
    return answer(job, status=200, key=key)


@router.post(
    "/jobs/{job_id}/fail",
    summary="Fail a job",
    response_model=JobView,
    responses=problems({409: ["job_finished", "job_not_claimed"]}),
)
def fail_job(
    request: Request, job_id: str, body: JobFailure, principal: Worker, raw: RawBody
) -> Response:
    """For workers: the job failed, its hold is released, so it costs nothing."""
    key = idempotency_key(request, principal, raw)
    job = engine_of(request).fail_job(job_id, error=body.error, idempotency_key=key)
    return answer(job, status=200, key=key)


@router.get(
    "/jobs/{job_id}/outputs/{n}",
    summary="Download an output",
    responses=binary("application/octet-stream", "The output file."),
)
def get_output(request: Request, job_id: str, n: int, principal: Reader) -> Response:
    """One output of a job; the download is recorded for the refund rules."""
    output, data = engine_of(request).download_output(job_id, n, key_id=principal.key_id)
    disposition = f'attachment; filename="{_safe_name(output.name)}"'
    return Response(
        data, media_type=output.content_type, headers={"Content-Disposition": disposition}
    )


@router.get(
    "/jobs/{job_id}/downloads", summary="List a job's downloads", response_model=Page[DownloadView]
)
def list_downloads(request: Request, job_id: str, _: Reader) -> Response:
    """Who downloaded which output, and when."""
    found = engine_of(request).downloads(job_id)
    return answer(Page[DownloadView](data=found, next_cursor=None), status=200)


def _text(values: list[UploadFile | str], field: str, *, required: bool = False) -> str | None:
    if not values:
        if required:
            raise InvalidRequest(f"The {field} field is missing.", field=field)
        return None
    if len(values) > 1:
        raise InvalidRequest(f"Send {field} once.", field=field)
    [value] = values
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a text field, not a file.", field=field)
    return value


def _multipart_key(
    request: Request,
    principal: Principal,
    operation: str | None,
    params: dict[str, object],
    channel: str | None,
    image: bytes,
) -> IdempotencyKey | None:
    """A multipart boundary differs on every retry, so the fingerprint is of the content."""
    header = request.headers.get("idempotency-key")
    if header is None:
        return None
    digest = hashlib.sha256(f"POST {request.url.path}\n".encode())
    digest.update(repr((operation, sorted(params.items()), channel)).encode())
    digest.update(hashlib.sha256(image).digest())
    return IdempotencyKey(key=header, fingerprint=digest.hexdigest(), scope=principal.key_id)


def _safe_name(name: str) -> str:
    return "".join(c for c in name if c.isalnum() or c in "._-")[:100] or "output"
