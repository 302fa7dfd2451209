"""Export issued documents as CSV for the accountant.

One row per document, amounts in major units as exact decimal strings (`12.34`, `1000` for a
zero-decimal currency), computed from the stored integers so the export adds up to the cent.
A credit note's amounts are written negative: the accountant sums a column to get the revenue of
a period, and a credit note takes money back. Documents store them positive (the database checks
`amount > 0`), so the sign is applied here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal
from typing import TextIO

from creditflow.domain.documents import Document

HEADER = (
    "number",
    "kind",
    "issued_at",
    "order_id",
    "refers_to",
    "buyer_email",
    "buyer_country",
    "currency",
    "net",
    "tax",
    "tax_rate",
    "total",
    "payment_provider",
    "payment_reference",
)


def write_documents_csv(documents: Iterable[Document], out: TextIO) -> int:
    """Write the header and one row per document, in the given order; return the row count.

    `out` should be opened with `newline=""` (the csv module writes its own line endings).
    `tax_rate` is the stored fraction (`0.19`), empty when no tax applies; `issued_at` is ISO 8601
    in UTC.
    """
    writer = csv.writer(out)
    writer.writerow(HEADER)
    rows = 0
    for document in documents:
        writer.writerow(_row(document))
        rows += 1
    return rows


def _row(document: Document) -> list[str]:
    sign = -1 if document.kind == "credit_note" else 1
    exponent = document.currency_exponent
    issued_at = document.issued_at
    if issued_at.tzinfo is None:
        issued_at = issued_at.replace(tzinfo=UTC)
    tax = document.tax
    return [
        document.number,
        document.kind,
        issued_at.astimezone(UTC).isoformat(),
        document.order_id,
        document.refers_to or "",
        document.buyer.email or "",
        document.buyer.country or "",
        document.currency,
        _amount(sign * tax.net, exponent),
        _amount(sign * tax.tax, exponent),
        "" if tax.rate is None else str(tax.rate),
        _amount(sign * tax.total, exponent),
        document.payment_provider,
        document.payment_reference or "",
    ]


def _amount(minor: int, exponent: int) -> str:
    """`-12.34` from -1234 at exponent 2: Decimal scaling, never a float."""
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"
