"""A chargeback's evidence as a PDF a provider's dispute form takes (issue 6, sources 002, 003).

The same package as `GET /v1/disputes/{id}/evidence`, laid out for a reviewer at a bank: who the
customer is, what they bought and were invoiced, and every use of what they bought.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
)

from creditflow.domain.catalog import currency_exponent
from creditflow.domain.documents import format_money


def _money(money: Mapping[str, Any]) -> str:
    """`{"amount": 499, "currency": "USD"}` as a reviewer reads it: 4.99 USD."""
    currency = str(money["currency"])
    return format_money(int(money["amount"]), currency, currency_exponent(currency))


def render_evidence_pdf(evidence: Mapping[str, Any]) -> bytes:
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        title="Dispute evidence",
        invariant=1,
    )
    dispute, account, order = evidence["dispute"], evidence["account"], evidence["order"]
    story: list[Any] = [
        Paragraph(f"Dispute evidence {_text(dispute['id'])}", styles["Title"]),
        _pairs(
            styles,
            [
                ("Order", order["id"]),
                ("Amount disputed", _money(dispute["amount"])),
                ("Dispute fee", _money(dispute["fee"])),
                ("Status", dispute["status"]),
                ("Customer", account["email"]),
                ("Account", account["id"]),
                ("Customer since", account["created_at"]),
                ("Country", account.get("country") or "unknown"),
                ("Invoice", (evidence.get("invoice") or {}).get("number", "none")),
                ("Paid at", order["paid_at"]),
            ],
        ),
        Spacer(1, 6 * mm),
        Paragraph("Payments", styles["Heading2"]),
        _table(
            ["payment", "amount", "card fingerprint", "at"],
            [
                [p["provider_payment_id"], _money(p["amount"]), p.get("fingerprint") or "", p["at"]]
                for p in order["payments"]
            ],
        ),
        Paragraph("Use of the credits bought", styles["Heading2"]),
        _pairs(styles, list(evidence["usage"].items())),
        Paragraph("Ledger of those credits", styles["Heading2"]),
        _table(
            ["at", "type", "credits", "held", "reference"],
            [
                [e["at"], e["type"], e["credits"], e["held"], e.get("reference") or ""]
                for e in evidence["ledger"]
            ],
        ),
        Paragraph("Jobs run with them, and downloads of their results", styles["Heading2"]),
        _table(
            ["job", "operation", "status", "started", "finished", "downloads"],
            [
                [
                    j["id"],
                    j["operation"],
                    j["status"],
                    j["created_at"],
                    j["finished_at"] or "",
                    ", ".join(str(d["at"]) for d in j["downloads"]) or "none",
                ]
                for j in evidence["jobs"]
            ],
        ),
    ]
    doc.build(story)
    return out.getvalue()


def _text(value: object) -> str:
    return html.escape(str(value))


def _pairs(styles: Any, pairs: Sequence[tuple[str, object]]) -> Table:
    return Table(
        [
            [Paragraph(_text(k), styles["Normal"]), Paragraph(_text(v), styles["Normal"])]
            for k, v in pairs
        ],
        colWidths=[45 * mm, 125 * mm],
    )


def _table(header: list[str], rows: list[list[object]]) -> Table:
    empty: list[object] = ["none", *[""] * (len(header) - 1)]
    body = rows or [empty]
    return Table([header, *[[str(cell)[:40] for cell in row] for row in body]], repeatRows=1)
