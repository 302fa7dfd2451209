"""Invoices and credit notes: numbered, frozen and rendered once (rules 21 and 22).

Every paid order gets an invoice in the paying transaction, numbered from a gapless counter per
year (`INV-2026-000001`); every refund gets a credit note in its own series (`CN-…`). What a
document says is fixed when it is issued; its PDF is rendered on first request and kept.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from creditflow.documents.pdf import render_pdf
from creditflow.domain.catalog import Catalog
from creditflow.domain.documents import (
    Document,
    DocumentKind,
    DocumentLine,
    Party,
    TaxBreakdown,
    format_number,
    tax_breakdown,
)
from creditflow.domain.errors import NotFound
from creditflow.domain.events import EventType
from creditflow.jobs.files import FileStore
from creditflow.services.events import emit
from creditflow.services.notices import INVOICE_MAIL
from creditflow.services.views import CreditNoteView, InvoiceView, Money, OrderItemView
from creditflow.store.orders import OrderRecord
from creditflow.store.uow import UnitOfWork


def tax_rate(catalog: Catalog, country: str | None) -> Decimal | None:
    if catalog.tax is None or country is None:
        return None
    return catalog.tax.rates.get(country.upper())


def order_tax(catalog: Catalog, country: str | None, amount: int) -> TaxBreakdown:
    """The tax of an order of `amount` (the items' prices) for a buyer in `country`."""
    inclusive = catalog.tax is not None and catalog.tax.prices == "inclusive"
    return tax_breakdown(amount, tax_rate(catalog, country), inclusive=inclusive)


def seller(catalog: Catalog) -> Party:
    site = catalog.site
    address = tuple(line for line in (site.address or "").splitlines() if line.strip())
    return Party(
        name=site.legal_name or site.name, address=address, email=site.email, tax_id=site.tax_id
    )


def issue_invoice(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    now: datetime,
    payment_reference: str | None,
) -> Document:
    existing = uow.documents.invoice_of_order(order.id)
    if existing is not None and existing.document is not None:
        return existing.document
    year = now.astimezone(catalog.site.zone).year
    document = Document(
        kind="invoice",
        number=format_number("invoice", year, uow.documents.next_number("invoice", year)),
        issued_at=now,
        currency=order.currency,
        currency_exponent=catalog.currency_exponent,
        seller=seller(catalog),
        buyer=_buyer(uow, order.account_id),
        lines=tuple(
            DocumentLine(description=item.description, amount=item.amount, credits=item.credits)
            for item in uow.orders.items(order.id)
        ),
        tax=_order_breakdown(catalog, uow, order),
        order_id=order.id,
        payment_provider=order.provider,
        payment_reference=payment_reference,
    )
    uow.documents.add_invoice(document)
    emit(
        uow,
        EventType.INVOICE_CREATED,
        account_id=order.account_id,
        obj=invoice_view(uow, order.id),
        now=now,
    )
    return document


def issue_credit_note(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    refund_id: str,
    amount: int,
    now: datetime,
    payment_reference: str | None = None,
    note: str | None = None,
) -> Document:
    """A credit note for `amount` of an order's money given back, tax split as on its invoice."""
    invoice = uow.documents.invoice_of_order(order.id)
    year = now.astimezone(catalog.site.zone).year
    invoiced = invoice.document.tax if invoice and invoice.document else None
    rate = invoiced.rate if invoiced else None
    inclusive = invoiced.inclusive if invoiced else True
    # The refund is money that was paid, so it already contains its share of the tax.
    tax = tax_breakdown(amount, rate, inclusive=True)
    document = Document(
        kind="credit_note",
        number=format_number("credit_note", year, uow.documents.next_number("credit_note", year)),
        issued_at=now,
        currency=order.currency,
        currency_exponent=catalog.currency_exponent,
        seller=seller(catalog),
        buyer=_buyer(uow, order.account_id),
        lines=(DocumentLine(description=f"Refund of order {order.id}", amount=tax.net),),
        tax=TaxBreakdown(
            net=tax.net, tax=tax.tax, total=tax.total, rate=tax.rate, inclusive=inclusive
        ),
        order_id=order.id,
        payment_provider=order.provider,
        payment_reference=payment_reference,
        refers_to=invoice.number if invoice else None,
        note=note,
    )
    uow.documents.add_credit_note(document, refund_id=refund_id, amount=amount)
    emit(
        uow,
        EventType.CREDIT_NOTE_CREATED,
        account_id=order.account_id,
        obj=invoice_view(uow, order.id),
        now=now,
    )
    return document


def invoice_view(uow: UnitOfWork, order_id: str) -> InvoiceView:
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    stored = uow.documents.invoice_of_order(order.id)
    if stored is None:
        raise NotFound(
            f"Order {order_id} has no invoice: only paid orders get one.", order_id=order_id
        )

    def money(amount: int) -> Money:
        return Money(amount=amount, currency=order.currency)

    return InvoiceView(
        number=stored.number,
        order_id=order.id,
        pdf_url=f"/v1/invoices/{stored.number}.pdf",
        lines=[
            OrderItemView(
                product=item.product,
                description=item.description,
                credits=item.credits,
                amount=money(item.amount),
            )
            for item in uow.orders.items(order.id)
        ],
        subtotal=money(order.total - order.tax),
        tax=money(order.tax),
        total=money(order.total),
        issued_at=stored.issued_at,
        credit_notes=[
            CreditNoteView(
                number=note.number,
                pdf_url=f"/v1/credit-notes/{note.number}.pdf",
                total=money(note.document.total if note.document else 0),
                issued_at=note.issued_at,
            )
            for note in uow.documents.credit_notes_of_order(order.id)
        ],
    )


def document_pdf(uow: UnitOfWork, *, files: FileStore, kind: DocumentKind, number: str) -> bytes:
    """The document's PDF: rendered on first request and kept, so it never changes."""
    stored = (
        uow.documents.invoice(number) if kind == "invoice" else uow.documents.credit_note(number)
    )
    if stored is None:
        what = "invoice" if kind == "invoice" else "credit note"
        raise NotFound(f"No {what} numbered {number!r}.", number=number)
    if stored.pdf_sha256 is not None:
        return files.get(stored.pdf_sha256)
    document = stored.document
    if document is None:
        raise NotFound(f"{number} was issued before invoices were kept as documents.")
    pdf = render_pdf(document)
    uow.documents.keep_pdf(kind, number, files.put(pdf))
    return pdf


def _buyer(uow: UnitOfWork, account_id: str) -> Party:
    account = uow.accounts.get(account_id)
    if account is None:
        return Party(name=account_id)
    return Party(name=account.email, email=account.email, country=account.country)


def _order_breakdown(catalog: Catalog, uow: UnitOfWork, order: OrderRecord) -> TaxBreakdown:
    account = uow.accounts.get(order.account_id)
    rate = tax_rate(catalog, account.country if account else None) if order.tax else None
    inclusive = catalog.tax is not None and catalog.tax.prices == "inclusive"
    return TaxBreakdown(
        net=order.total - order.tax,
        tax=order.tax,
        total=order.total,
        rate=rate,
        inclusive=inclusive,
    )


def attach_invoices(uow: UnitOfWork, *, files: FileStore, now: datetime, limit: int = 100) -> int:
    """Give due invoice mails their PDF before they are sent.

    The PDF is rendered here, after the paying transaction, not inside it: a payment holds its
    locks only as long as the money needs.
    """
    attached = 0
    for message in uow.outbox.due(now, limit):
        if message.template not in INVOICE_MAIL or message.attachments not in ("", "[]"):
            continue
        number = json.loads(message.context).get("invoice_number")
        if not number:
            continue
        pdf = document_pdf(uow, files=files, kind="invoice", number=number)
        ref = {"sha256": files.put(pdf), "name": f"{number}.pdf", "content_type": "application/pdf"}
        uow.outbox.set_attachments(message.id, json.dumps([ref]))
        attached += 1
    return attached
