"""The member's orders, each with its invoice and credit notes as PDFs.

Invoice and credit-note numbers run in one gapless series per year for the whole site, so they
are easy to guess: a number is looked up to its order and the order to its account, and a
document of another account is a 404 with the same words as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from creditflow.domain.documents import DocumentKind
from creditflow.domain.errors import NotFound
from creditflow.engine import Engine
from creditflow.services.views import InvoiceView, OrderView
from creditflow.web.portal.forms import show
from creditflow.web.portal.refund_terms import STATUS_WORDS
from creditflow.web.portal.refunds import askable_until, latest_requests
from creditflow.web.portal.session import CustomerSession, Member, engine_of, owned

router = APIRouter()

PAGE_SIZE = 20
KIND_WORDS = {
    "pack": "Credit pack",
    "addon": "Add-on credits",
    "subscription": "Plan",
    "renewal": "Plan renewal",
    "upgrade": "Plan upgrade",
}
ORDER_STATUS = {
    "paid": ("Paid", "ok"),
    "partially_refunded": ("Partly refunded", "warn"),
    "refunded": ("Refunded", ""),
    "pending": ("Awaiting payment", "warn"),
    "failed": ("Payment failed", "bad"),
    "disputed": ("Chargeback open", "bad"),
}
"""An order's status in words, and the tone of its badge."""
REFUND_STATUS = {"pending": "on its way", "succeeded": "", "failed": "did not go through"}
DOCUMENT_WORDS: dict[str, DocumentKind] = {"invoice": "invoice", "credit_note": "credit_note"}


@dataclass(frozen=True, slots=True)
class OrderLine:
    order: OrderView
    what: str
    """The kind of order in words (a credit pack, a plan renewal)."""
    invoice: InvoiceView | None
    """None until the order is paid: only paid orders are invoiced."""
    request: tuple[str, str] | None
    """The latest refund request of the order (its id and status), if one was made."""
    refundable: bool
    """Paid, not refunded in full, no request in review, and (where the policy has a window)
    still inside it."""


def order_lines(
    engine: Engine, account_id: str, cursor: str | None
) -> tuple[list[OrderLine], str | None]:
    """One page of the account's orders, newest first, each with its documents."""
    page = engine.orders(account_id, limit=PAGE_SIZE, cursor=cursor)
    now = engine.clock.now()
    requests = latest_requests(engine, account_id)
    lines = []
    for order in page.data:
        invoice = None
        if order.paid_at is not None:
            try:
                invoice = engine.invoice(order.id)
            except NotFound:  # paid before invoices were issued: nothing to download
                invoice = None
        until = askable_until(order, engine.catalog.refunds)
        request = requests.get(order.id)
        lines.append(
            OrderLine(
                order=order,
                what=KIND_WORDS.get(order.kind, order.kind.replace("_", " ").capitalize()),
                invoice=invoice,
                request=request,
                refundable=until is not None
                and now <= until
                and (request is None or request[1] != "in_review"),
            )
        )
    return lines, page.next_cursor


@router.get("/billing")
async def billing(request: Request, customer: Member, cursor: str = "") -> Response:
    engine = engine_of(request)
    lines, next_cursor = await run_in_threadpool(
        order_lines, engine, customer.account.id, cursor or None
    )
    return show(
        request,
        "billing.html",
        current="billing",
        lines=lines,
        order_status=ORDER_STATUS,
        refund_status=REFUND_STATUS,
        request_status=STATUS_WORDS,
        first_page=not cursor,
        next_url=f"/portal/billing?cursor={next_cursor}" if next_cursor else None,
    )


def document_owner(engine: Engine, kind: DocumentKind, number: str) -> str | None:
    """The account whose order a document belongs to; None when there is no such document."""
    with engine.context.reading() as uow:
        stored = (
            uow.documents.invoice(number)
            if kind == "invoice"
            else uow.documents.credit_note(number)
        )
        order = uow.orders.get(stored.order_id) if stored is not None else None
        return order.account_id if order is not None else None


def _document_pdf(
    engine: Engine, customer: CustomerSession, kind: DocumentKind, number: str
) -> bytes:
    what = "invoice" if kind == "invoice" else "credit note"
    try:
        owned(document_owner(engine, kind, number) or "", customer, what)
    except NotFound:
        raise NotFound(f"No {what} of yours has this number.") from None
    return engine.document_pdf(kind, number)


@router.get("/documents/{kind}/{number}.pdf")
async def document(request: Request, kind: str, number: str, customer: Member) -> Response:
    document_kind = DOCUMENT_WORDS.get(kind)
    if document_kind is None:
        raise NotFound("There is no such kind of document.")
    pdf = await run_in_threadpool(
        _document_pdf, engine_of(request), customer, document_kind, number
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{number}.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
