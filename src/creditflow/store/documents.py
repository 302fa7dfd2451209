"""Repository of invoices, credit notes and the counters that number them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from creditflow.domain.documents import Document, DocumentKind
from creditflow.store.fresh_orders import FreshOrders
from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.tables import credit_notes, invoices

# Through the driver (store.raw_sql): every renewal issues an invoice.
_NEXT_NUMBER = Statement(
    "INSERT INTO document_counters (series, year, last) VALUES (:series, :year, 1)"
    " ON CONFLICT (series, year) DO UPDATE SET last = document_counters.last + 1"
    " RETURNING last"
)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    number: str
    order_id: str
    issued_at: datetime
    document: Document | None
    """None only for invoices issued before documents were frozen (migration 0004)."""
    pdf_sha256: str | None


class DocumentRepository:
    def __init__(self, connection: Connection, driver: Driver, fresh: FreshOrders) -> None:
        self._connection = connection
        self._driver = driver
        self._fresh = fresh
        self._issued: dict[str, StoredDocument] = {}
        """Invoices issued in this unit of work, by order: a renewal's invoice event reads
        the invoice it has just written, which no other transaction can change."""

    def next_number(self, series: DocumentKind, year: int) -> int:
        """The next number of a series, in the caller's transaction: gapless on both databases.

        The counter row is locked by the update until the transaction ends, so concurrent
        payments queue here; a rolled-back payment rolls its number back with it.
        """
        row = self._driver.one(_NEXT_NUMBER, {"series": str(series), "year": year})
        assert row is not None
        return int(row[0])

    def add_invoice(self, document: Document) -> None:
        self._driver.insert(
            invoices,
            {
                "order_id": document.order_id,
                "issued_at": document.issued_at,
                "number": document.number,
                "document": json.dumps(document.to_json()),
            },
        )
        self._issued[document.order_id] = _just_issued(document)

    def invoice_of_order(self, order_id: str) -> StoredDocument | None:
        issued = self._issued.get(order_id)
        if issued is not None:
            return issued
        if self._fresh.knows(order_id):
            return None
        rows = self._driver.select(invoices, where={"order_id": order_id})
        return _stored(rows[0], "order_id") if rows else None

    def invoice(self, number: str) -> StoredDocument | None:
        row = (
            self._connection.execute(select(invoices).where(invoices.c.number == number))
            .mappings()
            .first()
        )
        return _stored(row, "order_id") if row else None

    def add_credit_note(self, document: Document, *, refund_id: str, amount: int) -> None:
        self._connection.execute(
            insert(credit_notes).values(
                number=document.number,
                order_id=document.order_id,
                refund_id=refund_id,
                amount=amount,
                issued_at=document.issued_at,
                document=json.dumps(document.to_json()),
            )
        )
        self._fresh.add_credit_note(_just_issued(document))

    def credit_note(self, number: str) -> StoredDocument | None:
        row = (
            self._connection.execute(select(credit_notes).where(credit_notes.c.number == number))
            .mappings()
            .first()
        )
        return _stored(row, "order_id") if row else None

    def credit_notes_of_order(self, order_id: str) -> list[StoredDocument]:
        known = self._fresh.credit_notes(order_id)
        if known is not None:
            return known
        rows = self._driver.select(credit_notes, where={"order_id": order_id}, order_by=("seq",))
        return [_stored(row, "order_id") for row in rows]

    def credited(self, order_id: str) -> int:
        return int(
            self._connection.execute(
                select(func.coalesce(func.sum(credit_notes.c.amount), 0)).where(
                    credit_notes.c.order_id == order_id
                )
            ).scalar_one()
        )

    def keep_pdf(self, kind: DocumentKind, number: str, sha256: str) -> None:
        table = invoices if kind == "invoice" else credit_notes
        self._connection.execute(
            update(table)
            .where(table.c.number == number, table.c.pdf_sha256.is_(None))
            .values(pdf_sha256=sha256)
        )
        if kind == "credit_note":
            self._fresh.forget()
        for order_id, issued in self._issued.items():
            if kind == "invoice" and issued.number == number and issued.pdf_sha256 is None:
                self._issued[order_id] = replace(issued, pdf_sha256=sha256)

    def between(self, start: datetime, end: datetime) -> list[Document]:
        """Invoices and credit notes issued in [start, end), in issue order, for accountants."""
        found: list[Document] = []
        for table in (invoices, credit_notes):
            rows = self._connection.execute(
                select(table.c.document).where(
                    table.c.issued_at >= start,
                    table.c.issued_at < end,
                    table.c.document.is_not(None),
                )
            ).scalars()
            found += [Document.from_json(json.loads(text)) for text in rows]
        return sorted(found, key=lambda d: (d.issued_at, d.kind != "invoice", d.number))


def _just_issued(document: Document) -> StoredDocument:
    return StoredDocument(
        number=document.number,
        order_id=document.order_id,
        issued_at=document.issued_at,
        document=document,
        pdf_sha256=None,
    )


def _stored(row: object, order_column: str) -> StoredDocument:
    data = dict(row)  # type: ignore[call-overload]
    text = data.get("document")
    return StoredDocument(
        number=data["number"],
        order_id=data[order_column],
        issued_at=data["issued_at"],
        document=Document.from_json(json.loads(text)) if text else None,
        pdf_sha256=data.get("pdf_sha256"),
    )
