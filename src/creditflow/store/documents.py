"""Repository of invoices, credit notes and the counters that number them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update

from creditflow.domain.documents import Document, DocumentKind
from creditflow.store.tables import credit_notes, document_counters, invoices
from creditflow.store.upsert import insert_ignoring_duplicates

# Built once: every renewal issues an invoice.
_NEXT_NUMBER = (
    update(document_counters)
    .where(
        document_counters.c.series == bindparam("b_series"),
        document_counters.c.year == bindparam("b_year"),
    )
    .values(last=document_counters.c.last + 1)
    .returning(document_counters.c.last)
)
_ADD_INVOICE = insert(invoices)
_INVOICE_OF_ORDER = select(invoices).where(invoices.c.order_id == bindparam("order_id"))
_CREDIT_NOTES_OF_ORDER = (
    select(credit_notes)
    .where(credit_notes.c.order_id == bindparam("order_id"))
    .order_by(credit_notes.c.seq)
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
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def next_number(self, series: DocumentKind, year: int) -> int:
        """The next number of a series, in the caller's transaction: gapless on both databases.

        The counter row is locked by the update until the transaction ends, so concurrent
        payments queue here; a rolled-back payment rolls its number back with it.
        """
        insert_ignoring_duplicates(
            self._connection,
            document_counters,
            {"series": series, "year": year, "last": 0},
            index_elements=["series", "year"],
        )
        return int(
            self._connection.execute(
                _NEXT_NUMBER, {"b_series": series, "b_year": year}
            ).scalar_one()
        )

    def add_invoice(self, document: Document) -> None:
        self._connection.execute(
            _ADD_INVOICE,
            {
                "order_id": document.order_id,
                "issued_at": document.issued_at,
                "number": document.number,
                "document": json.dumps(document.to_json()),
            },
        )

    def invoice_of_order(self, order_id: str) -> StoredDocument | None:
        row = self._connection.execute(_INVOICE_OF_ORDER, {"order_id": order_id}).mappings().first()
        return _stored(row, "order_id") if row else None

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

    def credit_note(self, number: str) -> StoredDocument | None:
        row = (
            self._connection.execute(select(credit_notes).where(credit_notes.c.number == number))
            .mappings()
            .first()
        )
        return _stored(row, "order_id") if row else None

    def credit_notes_of_order(self, order_id: str) -> list[StoredDocument]:
        rows = self._connection.execute(_CREDIT_NOTES_OF_ORDER, {"order_id": order_id}).mappings()
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
