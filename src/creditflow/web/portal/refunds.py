"""The member's refunds: the site's policy in plain words, their requests, and a form to ask.

The form asks what the API's `POST /v1/refund-requests` takes (an order, a reason, a
description, evidence and jobs named), each checked here first so that a mistake comes back
beside its field with nothing done: no file is kept until every other field is right, and no
request is opened until every file is. What the policy recommends stays with support, who
decide; the member sees the decision once it is made. Every id the form or an address carries
(an order, a job, a request) is looked up through the session's account: another account's is
a 404, worded as a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from creditflow.domain.catalog import Refunds
from creditflow.domain.errors import (
    Conflict,
    CreditflowError,
    InvalidImage,
    InvalidRequest,
    NotFound,
)
from creditflow.domain.refunds.facts import EVIDENCE_KINDS, REASONS
from creditflow.engine import Engine
from creditflow.engine.support import MAX_EVIDENCE_BYTES
from creditflow.services.orders import order_view
from creditflow.services.refund_requests import request_view
from creditflow.services.views import JobView, OrderView, RefundRequestView
from creditflow.web.fields import text
from creditflow.web.layer import evidence_response, local, money, redirect, sniff
from creditflow.web.portal.forms import checked_form, show
from creditflow.web.portal.refund_terms import (
    EVIDENCE_WORDS,
    JOB_STATUS_WORDS,
    OPEN_TO_REFUND,
    REASON_WORDS,
    STATUS_WORDS,
    WINDOWED,
    in_days,
    policy_in_words,
)
from creditflow.web.portal.session import CustomerSession, Member, engine_of, own

router = APIRouter()

PAGE_SIZE = 20
MAX_FILES = 5
MAX_TOTAL_BYTES = 20 * 1024 * 1024
"""What one request's files may weigh together (each may be up to MAX_EVIDENCE_BYTES)."""
MAX_DESCRIPTION = 1000
"""As the API takes it."""
JOBS_SHOWN = 20
ORDERS_SCANNED = 200
"""How far back the form looks for orders to offer, when the policy has no window."""
ACCEPTED = "image/png,image/jpeg,image/webp,image/gif,image/bmp,application/pdf"
DONE = {"requested": "Thank you: your request is in. We have emailed you a copy."}


def askable_until(order: OrderView, settings: Refunds) -> datetime | None:
    """Until when a refund of the order can be asked for: None when it cannot (not paid, or
    refunded in full or disputed); `datetime.max` in UTC when the policy has no window."""
    if order.paid_at is None or order.status not in OPEN_TO_REFUND:
        return None
    if settings.policy not in WINDOWED:
        return datetime.max.replace(tzinfo=order.paid_at.tzinfo)
    return order.paid_at + timedelta(days=settings.window_days)


# Reads


@dataclass(frozen=True, slots=True)
class Listed:
    request: RefundRequestView
    order: OrderView


@dataclass(frozen=True, slots=True)
class RequestsPage:
    listed: list[Listed]
    next_after: str | None
    open_orders: set[str] = field(default_factory=set)
    """Orders with a request still in review: a second one waits until it is decided."""


def requests_of(engine: Engine, account_id: str, after: str | None) -> RequestsPage:
    """A page of the account's requests, newest first, after the request `after`."""
    with engine.context.reading() as uow:
        records = uow.refund_requests.of_account(account_id)
        start = 0
        if after:
            position = next((n for n, r in enumerate(records) if r.id == after), None)
            if position is None:
                raise InvalidRequest("This page of requests is not one the portal gave out.")
            start = position + 1
        shown = records[start : start + PAGE_SIZE]
        return RequestsPage(
            listed=[Listed(request_view(uow, r), order_view(uow, r.order_id)) for r in shown],
            next_after=shown[-1].id if len(records) > start + PAGE_SIZE else None,
            open_orders={r.order_id for r in records if r.status == "in_review"},
        )


def latest_requests(engine: Engine, account_id: str) -> dict[str, tuple[str, str]]:
    """The latest refund request of each of the account's orders: order id → (id, status)."""
    with engine.context.reading() as uow:
        latest: dict[str, tuple[str, str]] = {}
        for record in uow.refund_requests.of_account(account_id):  # newest first
            latest.setdefault(record.order_id, (record.id, record.status))
        return latest


def refundable_orders(engine: Engine, account_id: str, open_orders: set[str]) -> list[OrderView]:
    """The account's orders a refund can be asked for now, newest first."""
    settings = engine.catalog.refunds
    now = engine.clock.now()
    found: list[OrderView] = []
    cursor: str | None = None
    scanned = 0
    while scanned < ORDERS_SCANNED:
        page = engine.orders(account_id, limit=50, cursor=cursor)
        for order in page.data:
            if settings.policy in WINDOWED and order.created_at < now - timedelta(
                days=settings.window_days + 1  # paid at most a day after it was placed
            ):
                return found
            until = askable_until(order, settings)
            if until is not None and now <= until and order.id not in open_orders:
                found.append(order)
        scanned += len(page.data)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found


def order_label(order: OrderView, zone: str, *, with_year: bool) -> str:
    """Short enough for a phone's select: the window keeps the year obvious when it has one."""
    what = ", ".join(item.description for item in order.items) or order.kind
    bought = local(order.paid_at, zone, "date" if with_year else "day")
    return f"{what}, {money(order.total)}, {bought}"


# The refunds page and its form


def _refunds_page(
    request: Request,
    customer: CustomerSession,
    *,
    after: str | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    engine = engine_of(request)
    account_id = customer.account.id
    zone = engine.catalog.site.timezone
    page = requests_of(engine, account_id, after)
    orders = refundable_orders(engine, account_id, page.open_orders)
    jobs = engine.jobs(account_id, limit=JOBS_SHOWN).data
    settings = engine.catalog.refunds
    return show(
        request,
        "refunds.html",
        current="refunds",
        status=status,
        policy=policy_in_words(settings),
        windowed=settings.policy in WINDOWED,
        window_days=settings.window_days,
        page=page,
        first_page=not after,
        next_url=f"/portal/refunds?after={page.next_after}" if page.next_after else None,
        order_choices=[
            ("", "Choose an order"),
            *(
                (o.id, order_label(o, zone, with_year=settings.policy not in WINDOWED))
                for o in orders
            ),
        ],
        reason_choices=[("", "Choose a reason"), *REASON_WORDS.items()],
        evidence_choices=list(EVIDENCE_WORDS.items()),
        jobs=jobs,
        job_words=JOB_STATUS_WORDS,
        reason_words=REASON_WORDS,
        status_words=STATUS_WORDS,
        accepted=ACCEPTED,
        max_files=MAX_FILES,
        max_description=MAX_DESCRIPTION,
        errors=errors or {},
        values=values or {},
    )


@router.get("/refunds")
async def refunds(
    request: Request, customer: Member, after: str = "", order_id: str = ""
) -> Response:
    values = {"order_id": order_id} if order_id else None
    return await run_in_threadpool(
        lambda: _refunds_page(request, customer, after=after or None, values=values)
    )


@dataclass(slots=True)
class Asked:
    """A refund request as the form gave it, and what is wrong with it, field by field."""

    order_id: str
    reason: str
    description: str
    evidence_kind: str
    job_ids: list[str]
    files: list[tuple[str, bytes]]
    errors: dict[str, str]
    conflict: bool = False
    """Refused for the order's state (a request already in review): 409 rather than 422."""


async def _read_files(form: FormData) -> tuple[list[tuple[str, bytes]], str | None]:
    """The files chosen (a browser sends an empty part when none is), or what is wrong."""
    uploads = [
        item
        for item in form.getlist("evidence")
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]
    if len(uploads) > MAX_FILES:
        return [], f"Send at most {MAX_FILES} files."
    files: list[tuple[str, bytes]] = []
    for upload in uploads:
        name = upload.filename or "The file"
        data = await upload.read(MAX_EVIDENCE_BYTES + 1)
        if len(data) > MAX_EVIDENCE_BYTES:
            return [], f"{name} is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB."
        if not data:
            return [], f"{name} is empty."
        files.append((name, data))
    if sum(len(data) for _, data in files) > MAX_TOTAL_BYTES:
        return [], f"The files come to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB together."
    return files, None


def _check(engine: Engine, customer: CustomerSession, asked: Asked) -> None:
    """Add to `asked.errors` what the form got wrong; another account's order or job is a
    404 at once."""
    errors = asked.errors
    if not asked.order_id:
        errors["order_id"] = "Choose the order you want a refund for."
    else:
        order = own(customer, "order", engine.order, asked.order_id)
        problem = _order_problem(engine, order)
        if problem:
            errors["order_id"] = problem
    if asked.reason not in REASONS:
        errors["reason"] = "Choose one of the reasons in the list."
    if len(asked.description) > MAX_DESCRIPTION:
        errors["description"] = (
            f"Keep it to {MAX_DESCRIPTION:,} characters (this is {len(asked.description):,})."
        )
    if asked.evidence_kind not in EVIDENCE_KINDS:
        errors["evidence_kind"] = "Choose what the files show from the list."
    if len(asked.job_ids) > JOBS_SHOWN:
        errors["job_ids"] = f"Name at most {JOBS_SHOWN} jobs."
    for job_id in asked.job_ids:
        own(customer, "job", engine.job, job_id)


def _order_problem(engine: Engine, order: OrderView) -> str | None:
    zone = engine.catalog.site.timezone
    if order.paid_at is None:
        return "This order was not paid, so there is nothing to refund."
    if order.status == "refunded":
        return "This order has been refunded in full already."
    if order.status == "disputed":
        return "Your bank is handling a chargeback of this order: it returns the money itself."
    until = askable_until(order, engine.catalog.refunds)
    if until is not None and engine.clock.now() > until:
        return (
            f"You bought this on {local(order.paid_at, zone, 'date')}. A refund can be asked "
            f"for within {in_days(engine.catalog.refunds.window_days)} of a purchase, so until "
            f"{local(until, zone, 'date')}."
        )
    return None


def _store_files(engine: Engine, asked: Asked) -> list[dict[str, str]] | None:
    """Keep the files as evidence once every other field is right; None when one is refused."""
    evidence = []
    for name, data in asked.files:
        try:
            stored = engine.store_evidence_file(data)
        except InvalidImage as refused:
            asked.errors["evidence"] = (
                f"{name} is not an image (PNG, JPEG, WebP, GIF or BMP) or a PDF we can read."
                if refused.reason in ("unsupported_format", "corrupt")
                else f"{name}: {refused.message}"
            )
            return None
        except InvalidRequest as refused:
            asked.errors["evidence"] = f"{name}: {refused.message}"
            return None
        evidence.append({"kind": asked.evidence_kind, "ref": stored.ref})
    return evidence


def _submit(engine: Engine, customer: CustomerSession, asked: Asked, form_id: str) -> str | None:
    """The new request's id, or None with `asked.errors` saying why not."""
    _check(engine, customer, asked)
    if asked.errors:
        return None
    evidence = _store_files(engine, asked)
    if evidence is None:
        return None
    try:
        created = engine.submit_refund_request(
            order_id=asked.order_id,
            reason=asked.reason,
            description=asked.description or None,
            evidence=evidence or None,
            job_ids=asked.job_ids or None,
            idempotency_key=customer.idempotency_key(form_id),
        )
    except (InvalidRequest, Conflict) as refused:
        asked.errors.update(_beside_field(refused))
        asked.conflict = isinstance(refused, Conflict)
        return None
    return created.id


def _beside_field(refused: CreditflowError) -> dict[str, str]:
    if refused.code == "refund_request_open":
        return {"order_id": "You have asked for a refund of this order already; it is in review."}
    if refused.code == "order_not_paid":
        return {"order_id": "This order was not paid, so there is nothing to refund."}
    field_name = str(refused.details.get("field") or "")
    for name in ("reason", "job_ids", "description", "order_id"):
        if field_name.startswith(name):
            return {name: refused.message}
    if field_name.startswith("evidence"):
        return {"evidence": refused.message}
    return {"form": refused.message}


@router.post("/refunds")
async def ask_for_refund(request: Request, customer: Member) -> Response:
    # Parsed once with the form's own limits (checked_form then finds it parsed), and closed
    # once the files are read: their spooled copies go at once, whatever happens next.
    parsed = await request.form(max_files=MAX_FILES * 4, max_fields=JOBS_SHOWN * 4)
    try:
        form = await checked_form(request, customer)
        files, file_problem = await _read_files(form)
        asked = Asked(
            order_id=text(form, "order_id"),
            reason=text(form, "reason"),
            description=text(form, "description"),
            evidence_kind=text(form, "evidence_kind") or "screenshot",
            job_ids=list(
                dict.fromkeys(
                    j.strip() for j in form.getlist("job_ids") if isinstance(j, str) and j.strip()
                )
            ),
            files=files,
            errors={"evidence": file_problem} if file_problem else {},
        )
        form_id = text(form, "form_id")
    finally:
        await parsed.close()
    if not form_id:
        asked.errors["form"] = "This form is missing its id: reload the page and try again."
    engine = engine_of(request)
    created = await run_in_threadpool(_submit, engine, customer, asked, form_id)
    if created is not None:
        return redirect(f"/portal/refunds/{created}?done=requested")
    values: dict[str, Any] = {
        "order_id": asked.order_id,
        "reason": asked.reason,
        "description": asked.description,
        "evidence_kind": asked.evidence_kind,
        "job_ids": set(asked.job_ids),
        "had_files": bool(files),
    }
    return await run_in_threadpool(
        lambda: _refunds_page(
            request,
            customer,
            status=409 if asked.conflict else 422,
            errors=asked.errors,
            values=values,
        )
    )


# One request


@dataclass(frozen=True, slots=True)
class EvidenceShown:
    n: int
    """1-based, as the file's address names it."""
    kind: str
    content_type: str | None
    """image/…, application/pdf, or None when it is not a file kept here."""
    ref: str


def _evidence_shown(engine: Engine, found: RefundRequestView) -> list[EvidenceShown]:
    shown = []
    for n, item in enumerate(found.evidence, start=1):
        content_type = None
        if item.ref.startswith("file:"):
            try:
                content_type = sniff(engine.files.get(item.ref.removeprefix("file:"))[:16])
            except FileNotFoundError:
                content_type = None
        shown.append(
            EvidenceShown(n, EVIDENCE_WORDS.get(item.kind, item.kind), content_type, item.ref)
        )
    return shown


def _request_page(
    request: Request, customer: CustomerSession, request_id: str, done: str
) -> Response:
    engine = engine_of(request)
    found = own(customer, "refund request", engine.refund_request, request_id)
    order = engine.order(found.order_id)
    jobs: Sequence[JobView] = [engine.job(job_id) for job_id in found.job_ids]
    return show(
        request,
        "refund_request.html",
        current="refunds",
        r=found,
        order=order,
        jobs=jobs,
        evidence=_evidence_shown(engine, found),
        reason_words=REASON_WORDS,
        status_words=STATUS_WORDS,
        job_words=JOB_STATUS_WORDS,
        done=DONE.get(done),
    )


@router.get("/refunds/{request_id}")
async def refund_request(
    request: Request, request_id: str, customer: Member, done: str = ""
) -> Response:
    return await run_in_threadpool(_request_page, request, customer, request_id, done)


def _evidence_file(
    engine: Engine, customer: CustomerSession, request_id: str, n: int
) -> tuple[bytes, str]:
    found = own(customer, "refund request", engine.refund_request, request_id)
    if not 1 <= n <= len(found.evidence) or not found.evidence[n - 1].ref.startswith("file:"):
        raise NotFound("This request has no such file.")
    try:
        data = engine.files.get(found.evidence[n - 1].ref.removeprefix("file:"))
    except FileNotFoundError:
        raise NotFound("This request has no such file.") from None
    return data, sniff(data)


@router.get("/refunds/{request_id}/evidence/{n}")
async def evidence_file(request: Request, request_id: str, n: int, customer: Member) -> Response:
    """A file the member sent, shown as what its bytes are (an image, a PDF), never as HTML."""
    data, _ = await run_in_threadpool(_evidence_file, engine_of(request), customer, request_id, n)
    return evidence_response(data)
